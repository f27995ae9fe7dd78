using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.Tests.TestSupport;
using WireMock.Logging;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Tests.Contract;

/// <summary>
/// Replays every recorded tracking exchange (steps 001–058) of TestData/mlflow-golden/3.11 and 2.22: the client's
/// request must equal the recording and the recorded response must parse into the recorded values or the recorded
/// error. Steps 059+ belong to artifacts, registry and logged models and are covered by their own areas.
/// </summary>
public class TrackingContractTests
{
    public const int FirstStep = 1;
    public const int LastStep = 58;

    public static readonly string[] Versions = ["3.11", "2.22"];

    /// <summary>Every tracking file of both versions, taken from index.json.</summary>
    public static TheoryData<string, string> Exchanges()
    {
        var data = new TheoryData<string, string>();
        foreach (var version in Versions)
        {
            foreach (var name in IndexNames(version).Where(n => Step(n) is >= FirstStep and <= LastStep))
            {
                data.Add(version, name);
            }
        }

        return data;
    }

    [Fact]
    public void Index_lists_every_tracking_file_in_the_folder_and_nothing_else()
    {
        foreach (var version in Versions)
        {
            var onDisk = GoldenExchange.Names(version, FirstStep, LastStep).ToList();
            var indexed = IndexNames(version).Where(n => Step(n) is >= FirstStep and <= LastStep).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(onDisk, indexed);
            Assert.True(onDisk.Count >= 55, $"{version}: only {onDisk.Count} tracking recordings found in {GoldenExchange.Directory}.");
        }
    }

    [Theory]
    [MemberData(nameof(Exchanges))]
    public async Task Exchange_replays(string version, string name)
    {
        var ct = TestContext.Current.CancellationToken;
        var exchange = GoldenExchange.Load(version, name);
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);
        var req = exchange.RequestJson;
        var res = exchange.ResponseJson;

        switch (Step(name))
        {
            case 1:
                exchange.Stub(server);
                Assert.True(await client.IsServerHealthyAsync(ct));
                AssertOnly(server, exchange);
                break;
            case 2:
                exchange.Stub(server);
                Assert.Equal(exchange.ResponseText, await client.GetServerVersionAsync(ct));
                AssertOnly(server, exchange);
                break;
            case 3 or 8 or 9:
                exchange.Stub(server);
                var tags = req!["tags"] is { } t ? GoldenAssert.Pairs(t) : null;
                var id = await client.Experiments.CreateAsync((string)req["name"]!, (string?)req["artifact_location"], tags, ct);
                Assert.Equal((string)res!["experiment_id"]!, id);
                AssertOnly(server, exchange);
                break;
            case 4:
                exchange.Stub(server);
                GoldenAssert.Error(exchange, await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.CreateAsync((string)req!["name"]!, cancellationToken: ct)));
                AssertOnly(server, exchange);
                break;
            case 5 or 17 or 21:
                exchange.Stub(server);
                GoldenAssert.Experiment(res!["experiment"]!, await client.Experiments.GetAsync(exchange.Query["experiment_id"][0], ct));
                AssertOnly(server, exchange);
                break;
            case 6:
                exchange.Stub(server);
                GoldenAssert.Experiment(res!["experiment"]!, (await client.Experiments.GetByNameAsync(exchange.Query["experiment_name"][0], ct))!);
                AssertOnly(server, exchange);
                break;
            case 7:
                exchange.Stub(server);
                Assert.Null(await client.Experiments.GetByNameAsync(exchange.Query["experiment_name"][0], ct));
                AssertOnly(server, exchange);
                break;
            case 10:
                // The recording omits max_results to show the server's 400. This client always sends it: the request
                // equals the recording plus max_results, and the recorded 400 parses into INVALID_PARAMETER_VALUE.
                GoldenAssert.StubPathOnly(server, exchange);
                var error = await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.SearchPageAsync(new SearchExperimentsOptions { Filter = (string)req!["filter"]! }, ct));
                GoldenAssert.Error(exchange, error);
                var sent = JsonNode.Parse(Assert.Single(server.LogEntries).RequestMessage.Body!)!;
                var expected = req!.DeepClone().AsObject();
                expected["max_results"] = 1000;
                Assert.True(JsonNode.DeepEquals(expected, sent), sent.ToJsonString());
                break;
            case 11 or 12 or 13 or 19:
                exchange.Stub(server);
                var page = await client.Experiments.SearchPageAsync(
                    new SearchExperimentsOptions
                    {
                        Filter = (string?)req!["filter"],
                        PageSize = (int)req["max_results"]!,
                        PageToken = (string?)req["page_token"],
                        OrderBy = req["order_by"]?.AsArray().Select(o => (string)o!).ToList(),
                        ViewType = req["view_type"] is null ? null : ViewType.DeletedOnly,
                    },
                    ct);
                var expectedExperiments = res!["experiments"]!.AsArray();
                Assert.Equal(expectedExperiments.Count, page.Items.Count);
                for (var i = 0; i < page.Items.Count; i++)
                {
                    GoldenAssert.Experiment(expectedExperiments[i]!, page.Items[i]);
                }

                Assert.Equal((string?)res["next_page_token"], page.NextPageToken);
                AssertOnly(server, exchange);
                break;
            case 14:
                exchange.Stub(server);
                await client.Experiments.RenameAsync((string)req!["experiment_id"]!, (string)req["new_name"]!, ct);
                AssertOnly(server, exchange);
                break;
            case 15:
                exchange.Stub(server);
                await client.Experiments.SetTagAsync((string)req!["experiment_id"]!, (string)req["key"]!, (string)req["value"]!, ct);
                AssertOnly(server, exchange);
                break;
            case 16:
                exchange.Stub(server);
                if (exchange.Status == 200)
                {
                    await client.Experiments.DeleteTagAsync((string)req!["experiment_id"]!, (string)req["key"]!, ct);
                }
                else
                {
                    // 2.22 lacks the endpoint: Flask's HTML 404 becomes ENDPOINT_NOT_FOUND.
                    GoldenAssert.Error(exchange, await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.DeleteTagAsync((string)req!["experiment_id"]!, (string)req["key"]!, ct)));
                }

                AssertOnly(server, exchange);
                break;
            case 18:
                exchange.Stub(server);
                await client.Experiments.DeleteAsync((string)req!["experiment_id"]!, ct);
                AssertOnly(server, exchange);
                break;
            case 20:
                exchange.Stub(server);
                await client.Experiments.RestoreAsync((string)req!["experiment_id"]!, ct);
                AssertOnly(server, exchange);
                break;
            case 22 or 44:
                exchange.Stub(server);
                var created = await client.Runs.CreateAsync(
                    (string)req!["experiment_id"]!,
                    new CreateRunOptions
                    {
                        RunName = (string?)req["run_name"],
                        UserId = (string?)req["user_id"],
                        StartTime = GoldenAssert.Ms(req["start_time"]),
                        Tags = GoldenAssert.Pairs(req["tags"]),
                    },
                    ct);
                GoldenAssert.Run(res!["run"]!, created);
                AssertOnly(server, exchange);
                break;
            case 23 or 40 or 51 or 54:
                exchange.Stub(server);
                var run = await client.Runs.GetAsync(exchange.Query["run_id"][0], ct);
                GoldenAssert.Run(res!["run"]!, run);
                if (Step(name) is 40 or 54)
                {
                    Assert.True(double.IsNaN(run.Data.Metrics.Single(m => m.Key == "nan_metric").Value));
                    Assert.Equal(double.MaxValue, run.Data.Metrics.Single(m => m.Key == "inf_metric").Value);
                    Assert.Equal(double.MinValue, run.Data.Metrics.Single(m => m.Key == "neg_inf_metric").Value);
                    Assert.Equal(6000, run.Data.Params["long_param"].Length);
                }

                if (Step(name) == 51)
                {
                    var corrupted = run.Data.Metrics.Single(m => m.Key == "bare_nan");
                    Assert.Equal((0.0, 0L, 0L), (corrupted.Value, corrupted.Timestamp, corrupted.Step));
                }

                AssertOnly(server, exchange);
                break;
            case 24:
                exchange.Stub(server);
                GoldenAssert.Error(exchange, await Assert.ThrowsAsync<MlflowException>(() => client.Runs.GetAsync(exchange.Query["run_id"][0], ct)));
                AssertOnly(server, exchange);
                break;
            case 25 or 26 or 27 or 28 or 29:
                exchange.Stub(server);
                var valueNode = req!["value"]!;
                var value = valueNode.GetValueKind() == System.Text.Json.JsonValueKind.String
                    ? double.Parse((string)valueNode!, CultureInfo.InvariantCulture)
                    : (double)valueNode;
                await client.Runs.LogMetricAsync((string)req["run_id"]!, (string)req["key"]!, value, (long?)req["step"], GoldenAssert.Ms(req["timestamp"]), ct);
                AssertOnly(server, exchange);
                break;
            case 30 or 31:
                exchange.Stub(server);
                await client.Runs.LogParamAsync((string)req!["run_id"]!, (string)req["key"]!, (string)req["value"]!, ct);
                AssertOnly(server, exchange);
                break;
            case 32:
                exchange.Stub(server);
                GoldenAssert.Error(exchange, await Assert.ThrowsAsync<MlflowException>(() => client.Runs.LogParamAsync((string)req!["run_id"]!, (string)req["key"]!, (string)req["value"]!, ct)));
                AssertOnly(server, exchange);
                break;
            case 33:
                await LongParamAsync(exchange, server, client, ct);
                break;
            case 34:
                exchange.Stub(server);
                await client.Runs.SetTagAsync((string)req!["run_id"]!, (string)req["key"]!, (string)req["value"]!, ct);
                AssertOnly(server, exchange);
                break;
            case 35:
                exchange.Stub(server);
                await client.Runs.DeleteTagAsync((string)req!["run_id"]!, (string)req["key"]!, ct);
                AssertOnly(server, exchange);
                break;
            case 36 or 45:
                exchange.Stub(server);
                await client.Runs.LogBatchAsync((string)req!["run_id"]!, Metrics(req["metrics"]), GoldenAssert.PairList(req["params"]), GoldenAssert.PairList(req["tags"]), ct);
                AssertOnly(server, exchange);
                break;
            case 37:
                // The server refuses duplicate param keys even with equal values; this client refuses them before sending.
                exchange.Stub(server);
                var duplicate = await Assert.ThrowsAsync<ArgumentException>(() => client.Runs.LogBatchAsync((string)req!["run_id"]!, parameters: GoldenAssert.PairList(req["params"]), cancellationToken: ct));
                Assert.Contains("epochs", duplicate.Message, StringComparison.Ordinal);
                Assert.Empty(server.LogEntries);
                GoldenAssert.Error(exchange, Rest.MlflowErrors.FromResponse((System.Net.HttpStatusCode)exchange.Status, res!.ToJsonString()));
                break;
            case 38:
                await TooManyMetricsAsync(exchange, server, client, ct);
                break;
            case 39:
                exchange.Stub(server);
                var input = req!["datasets"]![0]!;
                var dataset = input["dataset"]!;
                await client.Runs.LogInputsAsync(
                    (string)req["run_id"]!,
                    [
                        new DatasetInput
                        {
                            Tags = GoldenAssert.Pairs(input["tags"]),
                            Dataset = new Dataset
                            {
                                Name = (string)dataset["name"]!,
                                Digest = (string)dataset["digest"]!,
                                SourceType = (string)dataset["source_type"]!,
                                Source = (string)dataset["source"]!,
                                Schema = (string?)dataset["schema"],
                                Profile = (string?)dataset["profile"],
                            },
                        },
                    ],
                    cancellationToken: ct);
                AssertOnly(server, exchange);
                break;
            case 41:
                // Recorded without max_results (on 3.11 that answers no metrics and a token: a naive pager loops).
                // This client always sends max_results (25,000 by default) and stops on an empty page.
                GoldenAssert.StubPathOnly(server, exchange);
                var history = await client.Runs.GetMetricHistoryAsync(exchange.Query["run_id"][0], exchange.Query["metric_key"][0], cancellationToken: ct).ToListAsync(ct);
                var entry = Assert.Single(server.LogEntries);
                Assert.Equal("25000", entry.RequestMessage.Query!["max_results"].Single());
                Assert.Equal(exchange.Query["run_id"][0], entry.RequestMessage.Query!["run_id"].Single());
                AssertMetrics(res!["metrics"], history);
                break;
            case 42 or 43:
                await MetricHistoryPagesAsync(version, server, client, ct);
                break;
            case 46:
                exchange.Stub(server);
                var points = await client.Runs.GetMetricHistoryBulkIntervalAsync(exchange.Query["run_ids"], exchange.Query["metric_key"][0], maxResults: int.Parse(exchange.Query["max_results"][0], CultureInfo.InvariantCulture), cancellationToken: ct);
                AssertMetrics(res!["metrics"], points);
                AssertOnly(server, exchange);
                break;
            case 47 or 48 or 49:
                exchange.Stub(server);
                var runsPage = await client.Runs.SearchPageAsync(RunSearch(req!), ct);
                var expectedRuns = res!["runs"]?.AsArray() ?? [];
                Assert.Equal(expectedRuns.Count, runsPage.Items.Count);
                for (var i = 0; i < expectedRuns.Count; i++)
                {
                    GoldenAssert.Run(expectedRuns[i]!, runsPage.Items[i]);
                }

                Assert.Equal((string?)res["next_page_token"], runsPage.NextPageToken);
                AssertOnly(server, exchange);
                await RunSearchPagerAsync(version, req!, ct);
                break;
            case 50:
                await BareNanIsNeverSentAsync(exchange, server, client, ct);
                break;
            case 52:
                exchange.Stub(server);
                var info = await client.Runs.SetTerminatedAsync((string)req!["run_id"]!, RunStatus.Finished, GoldenAssert.Ms(req["end_time"]), ct);
                GoldenAssert.RunInfo(res!["run_info"]!, info);
                AssertOnly(server, exchange);
                break;
            case 53:
                exchange.Stub(server);
                await client.Runs.DeleteAsync((string)req!["run_id"]!, ct);
                AssertOnly(server, exchange);
                break;
            case 55:
                exchange.Stub(server);
                await client.Runs.RestoreAsync((string)req!["run_id"]!, ct);
                AssertOnly(server, exchange);
                break;
            case 56:
                // Recorded without Content-Type to show the server's 400; this client always sends application/json,
                // so a correct request is answered 200. The recorded 400 still maps to INVALID_PARAMETER_VALUE.
                server.Given(Request.Create().WithPath(exchange.Path).UsingPost().WithHeader("Content-Type", "application/json*"))
                    .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("{}"));
                await client.Runs.SetTagAsync((string)req!["run_id"]!, (string)req["key"]!, (string)req["value"]!, ct);
                var logged = Assert.Single(server.LogEntries);
                exchange.AssertRequestMatches(logged);
                Assert.StartsWith("application/json", logged.RequestMessage.Headers!["Content-Type"].Single(), StringComparison.Ordinal);
                GoldenAssert.Error(exchange, Rest.MlflowErrors.FromResponse((System.Net.HttpStatusCode)exchange.Status, res!.ToJsonString()));
                break;
            case 57:
                // An unknown route (e.g. a wrong URL prefix) answers Flask's HTML 404 for every endpoint.
                GoldenAssert.StubPathOnly(server, exchange);
                server.Given(Request.Create().WithPath("/api/2.0/mlflow/runs/get").UsingGet()).RespondWith(GoldenAssert.ResponseOf(exchange));
                var notFound = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.GetAsync("0123456789abcdef0123456789abcdef", ct));
                GoldenAssert.Error(exchange, notFound);
                Assert.Contains("404 Not Found", notFound.Message, StringComparison.Ordinal);
                Assert.Contains("404 Not Found", notFound.ServerMessage, StringComparison.Ordinal);
                break;
            case 58:
                // GET on runs/create answers HTML 405; this client uses POST (checked), and a 405 page reads cleanly.
                server.Given(Request.Create().WithPath(exchange.Path).UsingGet()).RespondWith(GoldenAssert.ResponseOf(exchange));
                server.Given(Request.Create().WithPath(exchange.Path).UsingPost()).RespondWith(GoldenAssert.ResponseOf(exchange));
                var notAllowed = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.CreateAsync("1", new CreateRunOptions { RunName = "r" }, ct));
                GoldenAssert.Error(exchange, notAllowed);
                Assert.Contains("405 Method Not Allowed", notAllowed.Message, StringComparison.Ordinal);
                Assert.Equal("POST", Assert.Single(server.LogEntries).RequestMessage.Method);
                break;
            default:
                Assert.Fail($"{version}/{name} is a tracking recording that this test does not replay yet.");
                break;
        }
    }

    private static async Task LongParamAsync(GoldenExchange exchange, WireMockServer server, MlflowClient client, CancellationToken ct)
    {
        var req = exchange.RequestJson!;
        var longValue = (string)req["value"]!;
        Assert.True(longValue.Length > 6000);

        // Default: refused before any request, because the server would silently truncate.
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => client.Runs.LogParamAsync((string)req["run_id"]!, (string)req["key"]!, longValue, ct));
        Assert.Contains("6000", refused.Message, StringComparison.Ordinal);
        Assert.Empty(server.LogEntries);

        // With TruncateLongValues the client sends what the server would have stored.
        GoldenAssert.StubPathOnly(server, exchange);
        using var truncating = TestClients.For(server, o => o.TruncateLongValues = true);
        await truncating.Runs.LogParamAsync((string)req["run_id"]!, (string)req["key"]!, longValue, ct);
        var sent = JsonNode.Parse(Assert.Single(server.LogEntries).RequestMessage.Body!)!;
        Assert.Equal(longValue[..6000], (string)sent["value"]!);
        Assert.Equal((string)req["run_id"]!, (string)sent["run_id"]!);
    }

    private static async Task TooManyMetricsAsync(GoldenExchange exchange, WireMockServer server, MlflowClient client, CancellationToken ct)
    {
        // The recording sends 1001 metrics in one request (400). This client splits them into 1000 + 1.
        var req = exchange.RequestJson!;
        var metrics = Metrics(req["metrics"]);
        Assert.Equal(1001, metrics.Count);
        server.Given(Request.Create().WithPath(exchange.Path).UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithBody("{}"));
        await client.Runs.LogBatchAsync((string)req["run_id"]!, metrics, cancellationToken: ct);
        var bodies = server.LogEntries.Select(e => JsonNode.Parse(e.RequestMessage.Body!)!).ToList();
        Assert.Equal(2, bodies.Count);
        Assert.Equal(1000, bodies[0]["metrics"]!.AsArray().Count);
        Assert.Single(bodies[1]["metrics"]!.AsArray());
        var expected = req["metrics"]!.AsArray();
        var sent = bodies.SelectMany(b => b["metrics"]!.AsArray()).ToList();
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(JsonNode.DeepEquals(Normalize(expected[i]), Normalize(sent[i])), $"metric {i}: {sent[i]!.ToJsonString()}");
        }

        GoldenAssert.Error(exchange, Rest.MlflowErrors.FromResponse((System.Net.HttpStatusCode)exchange.Status, exchange.ResponseJson!.ToJsonString()));
    }

    private static async Task MetricHistoryPagesAsync(string version, WireMockServer server, MlflowClient client, CancellationToken ct)
    {
        var first = GoldenExchange.Load(version, "042-metrics-get-history-page-1");
        var exchanges = GoldenExchange.Exists(version, "043-metrics-get-history-page-2")
            ? new[] { first, GoldenExchange.Load(version, "043-metrics-get-history-page-2") }
            : [first];
        GoldenAssert.StubSequence(server, exchanges);
        var points = await client.Runs.GetMetricHistoryAsync(first.Query["run_id"][0], first.Query["metric_key"][0], pageSize: 2, cancellationToken: ct).ToListAsync(ct);
        Assert.Equal(exchanges.Length, server.LogEntries.Count);
        var entries = server.LogEntries.ToList();
        for (var i = 0; i < exchanges.Length; i++)
        {
            exchanges[i].AssertRequestMatches(entries[i]);
        }

        var expected = new JsonArray(exchanges.SelectMany(e => e.ResponseJson!["metrics"]!.AsArray()).Select(n => n!.DeepClone()).ToArray());
        AssertMetrics(expected, points);
    }

    /// <summary>The lazy pager over the recorded pages: 3.11 stops without a token, 2.22 after the empty page 049.</summary>
    private static async Task RunSearchPagerAsync(string version, JsonNode req, CancellationToken ct)
    {
        var names = new[] { "047-runs-search-page-1", "048-runs-search-page-2", "049-runs-search-page-3-empty" }.Where(n => GoldenExchange.Exists(version, n)).ToArray();
        var exchanges = names.Select(n => GoldenExchange.Load(version, n)).ToArray();
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);
        GoldenAssert.StubSequence(server, exchanges);
        var runs = await client.Runs.SearchAsync(RunSearch(req) with { PageToken = null }, ct).ToListAsync(ct);
        Assert.Equal(2, runs.Count);
        var entries = server.LogEntries.ToList();
        Assert.Equal(exchanges.Length, entries.Count);
        for (var i = 0; i < exchanges.Length; i++)
        {
            exchanges[i].AssertRequestMatches(entries[i]);
        }
    }

    private static async Task BareNanIsNeverSentAsync(GoldenExchange exchange, WireMockServer server, MlflowClient client, CancellationToken ct)
    {
        // 050 records a bare NaN token (invalid JSON) that the server stores as 0: never replay it. The same call
        // through this client sends the string "NaN", the shape of 027.
        var raw = Encoding.UTF8.GetString(exchange.RequestBytes!);
        Assert.Contains(": NaN", raw, StringComparison.Ordinal);
        var intended = JsonNode.Parse(raw.Replace(": NaN", ": \"NaN\"", StringComparison.Ordinal))!;
        GoldenAssert.StubPathOnly(server, exchange);
        await client.Runs.LogMetricAsync((string)intended["run_id"]!, (string)intended["key"]!, double.NaN, (long)intended["step"]!, GoldenAssert.Ms(intended["timestamp"]), ct);
        var body = Assert.Single(server.LogEntries).RequestMessage.Body!;
        Assert.DoesNotContain(":NaN", body.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.True(JsonNode.DeepEquals(Normalize(intended), Normalize(JsonNode.Parse(body))), body);
        var shapeOf027 = GoldenExchange.Load(exchange.Version, "027-runs-log-metric-nan-as-string").RequestJson!;
        Assert.Equal((string)shapeOf027["value"]!, (string)JsonNode.Parse(body)!["value"]!);
    }

    private static SearchRunsOptions RunSearch(JsonNode req) => new()
    {
        ExperimentIds = req["experiment_ids"]!.AsArray().Select(e => (string)e!).ToList(),
        Filter = (string?)req["filter"],
        OrderBy = req["order_by"]?.AsArray().Select(o => (string)o!).ToList(),
        PageSize = (int)req["max_results"]!,
        PageToken = (string?)req["page_token"],
    };

    private static List<Metric> Metrics(JsonNode? list) =>
        (list?.AsArray() ?? []).Select(m => new Metric((string)m!["key"]!, (double)m["value"]!, (long)m["timestamp"]!, (long?)m["step"] ?? 0)).ToList();

    private static void AssertMetrics(JsonNode? expected, IReadOnlyList<Metric> actual)
    {
        var list = expected?.AsArray() ?? [];
        Assert.Equal(list.Count, actual.Count);
        for (var i = 0; i < list.Count; i++)
        {
            GoldenAssert.Metric(list[i]!, actual[i]);
        }
    }

    private static void AssertOnly(WireMockServer server, GoldenExchange exchange)
    {
        ILogEntry entry = Assert.Single(server.LogEntries);
        exchange.AssertRequestMatches(entry);
        Assert.Equal(exchange.Status, Convert.ToInt32(entry.ResponseMessage.StatusCode, CultureInfo.InvariantCulture));
    }

    private static JsonNode? Normalize(JsonNode? node) => node switch
    {
        JsonObject obj => new JsonObject(obj.Select(kv => KeyValuePair.Create(kv.Key, Normalize(kv.Value)))),
        JsonArray arr => new JsonArray(arr.Select(Normalize).ToArray()),
        JsonValue value when value.GetValueKind() == System.Text.Json.JsonValueKind.Number => JsonValue.Create(value.GetValue<double>()),
        _ => node?.DeepClone(),
    };

    private static int Step(string name) => int.Parse(name.AsSpan(0, 3), CultureInfo.InvariantCulture);

    private static IEnumerable<string> IndexNames(string version)
    {
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(GoldenExchange.Directory, version, "index.json")))!;
        return index["files"]!.AsArray().Select(f => (string)f!["name"]!);
    }
}
