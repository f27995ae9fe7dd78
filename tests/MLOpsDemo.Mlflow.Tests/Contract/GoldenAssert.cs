using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Tests.Contract;

/// <summary>Assertions that compare parsed models with recorded JSON, and multi-exchange stubs.</summary>
internal static class GoldenAssert
{
    /// <summary>Stubs consecutive exchanges: the i-th stub answers only after the (i−1)-th was used.</summary>
    public static void StubSequence(WireMockServer server, params GoldenExchange[] exchanges)
    {
        for (var i = 0; i < exchanges.Length; i++)
        {
            var exchange = exchanges[i];
            var given = server.Given(Request.Create().WithPath(exchange.Path).UsingMethod(exchange.Method)).InScenario("sequence");
            if (i > 0)
            {
                given = given.WhenStateIs(i.ToString(CultureInfo.InvariantCulture));
            }

            given.WillSetStateTo((i + 1).ToString(CultureInfo.InvariantCulture)).RespondWith(ResponseOf(exchange));
        }
    }

    /// <summary>Stubs a path (any query, any body) with the recorded response of <paramref name="exchange"/>.</summary>
    public static void StubPathOnly(WireMockServer server, GoldenExchange exchange, string? method = null) =>
        server.Given(Request.Create().WithPath(exchange.Path).UsingMethod(method ?? exchange.Method)).RespondWith(ResponseOf(exchange));

    public static IResponseBuilder ResponseOf(GoldenExchange exchange)
    {
        var response = Response.Create().WithStatusCode(exchange.Status);
        if (exchange.ResponseContentType is { } contentType)
        {
            response = response.WithHeader("Content-Type", contentType);
        }

        if (exchange.ResponseJson is { } json)
        {
            response = response.WithBody(json.ToJsonString());
        }
        else if (exchange.ResponseText is { } text)
        {
            response = response.WithBody(text);
        }

        return response;
    }

    /// <summary>The recorded error must surface as an <see cref="MlflowException"/> with its status and error code.</summary>
    public static void Error(GoldenExchange exchange, MlflowException ex)
    {
        Assert.Equal((HttpStatusCode)exchange.Status, ex.StatusCode);
        if (exchange.ResponseJson is { } json)
        {
            Assert.Equal((string?)json["error_code"], ex.ErrorCode);
            Assert.Equal((string?)json["message"], ex.ServerMessage);
        }
        else
        {
            // Flask HTML page: readable message from the title, no parse error, raw text kept.
            Assert.Equal(MlflowErrorCodes.EndpointNotFound, ex.ErrorCode);
            Assert.Equal(exchange.ResponseText, ex.ResponseBody);
            Assert.DoesNotContain("<", ex.Message, StringComparison.Ordinal);
            Assert.Contains(exchange.Status.ToString(CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
        }
    }

    public static void Experiment(JsonNode expected, Experiment actual)
    {
        Assert.Equal((string)expected["experiment_id"]!, actual.ExperimentId);
        Assert.Equal((string)expected["name"]!, actual.Name);
        Assert.Equal((string?)expected["artifact_location"], actual.ArtifactLocation);
        Assert.Equal((string)expected["lifecycle_stage"]!, actual.LifecycleStage);
        Assert.Equal((long?)expected["creation_time"], actual.CreationTime);
        Assert.Equal((long?)expected["last_update_time"], actual.LastUpdateTime);
        Assert.Equal(Pairs(expected["tags"]), actual.Tags.ToDictionary());
    }

    public static void Run(JsonNode expected, Run actual)
    {
        RunInfo(expected["info"]!, actual.Info);
        var data = expected["data"];
        var metrics = data?["metrics"]?.AsArray() ?? [];
        Assert.Equal(metrics.Count, actual.Data.Metrics.Count);
        for (var i = 0; i < metrics.Count; i++)
        {
            Metric(metrics[i]!, actual.Data.Metrics[i]);
        }

        Assert.Equal(Pairs(data?["params"]), actual.Data.Params.ToDictionary());
        Assert.Equal(Pairs(data?["tags"]), actual.Data.Tags.ToDictionary());
        var inputs = expected["inputs"]?["dataset_inputs"]?.AsArray() ?? [];
        Assert.Equal(inputs.Count, actual.Inputs.DatasetInputs.Count);
        for (var i = 0; i < inputs.Count; i++)
        {
            var d = inputs[i]!["dataset"]!;
            var a = actual.Inputs.DatasetInputs[i];
            Assert.Equal(Pairs(inputs[i]!["tags"]), a.Tags.ToDictionary());
            Assert.Equal((string)d["name"]!, a.Dataset.Name);
            Assert.Equal((string)d["digest"]!, a.Dataset.Digest);
            Assert.Equal((string)d["source_type"]!, a.Dataset.SourceType);
            Assert.Equal((string)d["source"]!, a.Dataset.Source);
            Assert.Equal((string?)d["schema"], a.Dataset.Schema);
            Assert.Equal((string?)d["profile"], a.Dataset.Profile);
        }

        var outputs = expected["outputs"]?["model_outputs"]?.AsArray() ?? [];
        Assert.Equal(outputs.Count, actual.Outputs.ModelOutputs.Count);
    }

    public static void RunInfo(JsonNode expected, RunInfo actual)
    {
        Assert.Equal((string)expected["run_id"]!, actual.RunId);
        Assert.Equal((string)expected["experiment_id"]!, actual.ExperimentId);
        Assert.Equal((string?)expected["run_name"], actual.RunName);
        Assert.Equal((string?)expected["user_id"], actual.UserId);
        Assert.Equal((string)expected["status"]!, actual.Status.ToString().ToUpperInvariant());
        Assert.Equal((long?)expected["start_time"], actual.StartTime);
        Assert.Equal((long?)expected["end_time"], actual.EndTime);
        Assert.Equal((string?)expected["artifact_uri"], actual.ArtifactUri);
        Assert.Equal((string)expected["lifecycle_stage"]!, actual.LifecycleStage);
    }

    public static void Metric(JsonNode expected, Metric actual)
    {
        Assert.Equal((string)expected["key"]!, actual.Key);
        var value = expected["value"]!;
        if (value.GetValueKind() == System.Text.Json.JsonValueKind.String)
        {
            Assert.Equal(double.Parse((string)value!, CultureInfo.InvariantCulture), actual.Value);
        }
        else
        {
            Assert.Equal((double)value, actual.Value);
        }

        Assert.Equal((long)expected["timestamp"]!, actual.Timestamp);
        Assert.Equal((long?)expected["step"] ?? 0, actual.Step);
        Assert.Equal((string?)expected["run_id"], actual.RunId);
    }

    public static Dictionary<string, string> Pairs(JsonNode? list)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in list?.AsArray() ?? [])
        {
            result[(string)item!["key"]!] = (string?)item["value"] ?? "";
        }

        return result;
    }

    public static List<KeyValuePair<string, string>> PairList(JsonNode? list) =>
        (list?.AsArray() ?? []).Select(item => KeyValuePair.Create((string)item!["key"]!, (string?)item["value"] ?? "")).ToList();

    public static DateTimeOffset Ms(JsonNode? node) => DateTimeOffset.FromUnixTimeMilliseconds((long)node!);
}
