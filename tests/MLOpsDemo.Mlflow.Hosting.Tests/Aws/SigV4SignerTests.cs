using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;
using Microsoft.Extensions.Time.Testing;
using MLOpsDemo.Mlflow.Aws;

namespace MLOpsDemo.Mlflow.Hosting.Tests.Aws;

public sealed class SigV4SignerTests
{
    // AWS's published SigV4 test suite credentials and time.
    private const string AccessKey = "AKIDEXAMPLE";
    private const string SecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    private static readonly DateTimeOffset Time = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);
    private static readonly ImmutableCredentials Credentials = new(AccessKey, SecretKey, null);
    private const string Arn = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/team";

    [Fact]
    public void Aws_test_suite_get_vanilla()
    {
        var canonical = SigV4Signer.CanonicalRequest("GET", "/", "", Headers(("host", "example.amazonaws.com"), ("x-amz-date", "20150830T123600Z")), SigV4Signer.EmptyPayloadHash);
        Assert.Equal("GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", canonical);

        var result = SigV4Signer.Authorize(canonical, "host;x-amz-date", Credentials, "us-east-1", "service", Time);

        Assert.Equal("AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63", result.StringToSign);
        Assert.Equal("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", result.Authorization);
    }

    [Fact]
    public void Aws_documentation_example_iam_list_users()
    {
        var query = SigV4Signer.CanonicalQuery("?Version=2010-05-08&Action=ListUsers");
        var canonical = SigV4Signer.CanonicalRequest("GET", "/", query,
            Headers(("content-type", "application/x-www-form-urlencoded; charset=utf-8"), ("host", "iam.amazonaws.com"), ("x-amz-date", "20150830T123600Z")), SigV4Signer.EmptyPayloadHash);

        var result = SigV4Signer.Authorize(canonical, "content-type;host;x-amz-date", Credentials, "us-east-1", "iam", Time);

        Assert.Equal("Action=ListUsers&Version=2010-05-08", query);
        Assert.EndsWith("\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59", result.StringToSign, StringComparison.Ordinal);
        Assert.EndsWith("Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", result.Authorization, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("?b=2&a=1", "a=1&b=2")]
    [InlineData("?filter=a+b&name=x%2By", "filter=a%20b&name=x%2By")]
    [InlineData("?k=%7e%20v&k=a", "k=a&k=~%20v")]
    [InlineData("?flag", "flag=")]
    public void Canonical_query_decodes_sorts_and_encodes_per_rfc3986(string query, string expected) =>
        Assert.Equal(expected, SigV4Signer.CanonicalQuery(query));

    [Theory]
    [InlineData("/api/2.0/mlflow/runs/search", "/api/2.0/mlflow/runs/search")]
    [InlineData("/a%20b/c", "/a%2520b/c")]
    [InlineData("", "/")]
    [InlineData("/api//2.0/./mlflow/a/../runs/", "/api/2.0/mlflow/runs/")]
    [InlineData("//a/.", "/a")]
    public void Canonical_uri_encodes_the_path_again_like_botocore(string path, string expected) =>
        Assert.Equal(expected, SigV4Signer.CanonicalUri(path));

    [Fact]
    public async Task Mlflow_get_with_plus_and_spaces_in_the_query()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://us-east-1.experiments.sagemaker.aws/api/2.0/mlflow/experiments/get-by-name?experiment_name=my+exp%2B1");
        var credential = SageMakerCredential();

        var result = await credential.SignAsync(request, TestContext.Current.CancellationToken);

        const string ExpectedCanonical =
            "GET\n/api/2.0/mlflow/experiments/get-by-name\nexperiment_name=my%20exp%2B1\n"
            + "host:us-east-1.experiments.sagemaker.aws\n"
            + "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            + "x-amz-date:20150830T123600Z\n"
            + "x-mlflow-sm-tracking-server-arn:" + Arn + "\n\n"
            + "host;x-amz-content-sha256;x-amz-date;x-mlflow-sm-tracking-server-arn\n"
            + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        Assert.Equal(ExpectedCanonical, result.CanonicalRequest);
        AssertSignedIndependently(result, ExpectedCanonical, "sagemaker-mlflow", "host;x-amz-content-sha256;x-amz-date;x-mlflow-sm-tracking-server-arn");
        Assert.Equal("experiment_name=my%20exp%2B1", request.RequestUri!.Query.TrimStart('?'));
        Assert.Equal(Arn, request.Headers.GetValues("x-mlflow-sm-tracking-server-arn").Single());
    }

    [Fact]
    public async Task Mlflow_post_json_hashes_the_body()
    {
        const string Json = """{"experiment_ids":["1"],"max_results":10}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "https://us-east-1.experiments.sagemaker.aws/api/2.0/mlflow/runs/search")
        {
            Content = new StringContent(Json, Encoding.UTF8, "application/json"),
        };

        var result = await SageMakerCredential().SignAsync(request, TestContext.Current.CancellationToken);

        var bodyHash = Hex(SHA256.HashData(Encoding.UTF8.GetBytes(Json)));
        var expectedCanonical =
            "POST\n/api/2.0/mlflow/runs/search\n\n"
            + "content-type:application/json; charset=utf-8\n"
            + "host:us-east-1.experiments.sagemaker.aws\n"
            + "x-amz-content-sha256:" + bodyHash + "\n"
            + "x-amz-date:20150830T123600Z\n"
            + "x-mlflow-sm-tracking-server-arn:" + Arn + "\n\n"
            + "content-type;host;x-amz-content-sha256;x-amz-date;x-mlflow-sm-tracking-server-arn\n"
            + bodyHash;
        Assert.Equal(expectedCanonical, result.CanonicalRequest);
        Assert.Equal(bodyHash, request.Headers.GetValues("X-Amz-Content-SHA256").Single());
        AssertSignedIndependently(result, expectedCanonical, "sagemaker-mlflow", "content-type;host;x-amz-content-sha256;x-amz-date;x-mlflow-sm-tracking-server-arn");
        Assert.Equal(Json, await request.Content!.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Streamed_put_is_hashed_and_still_sent_whole(bool seekable)
    {
        var bytes = new byte[300_000];
        new Random(42).NextBytes(bytes);
        Stream stream = seekable ? new MemoryStream(bytes) : new NonSeekableStream(bytes);
        using var request = new HttpRequestMessage(HttpMethod.Put, "https://mlflow.sagemaker.us-east-1.app.aws/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model.onnx")
        {
            Content = new StreamContent(stream),
        };
        var original = request.Content;
        var credential = new AwsSigV4Credential(new BasicAWSCredentials(AccessKey, SecretKey), "us-east-1", "sagemaker",
            new Dictionary<string, string> { ["x-sm-mlflow-app-arn"] = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-1" }, Clock());

        var result = await credential.SignAsync(request, TestContext.Current.CancellationToken);

        var bodyHash = Hex(SHA256.HashData(bytes));
        Assert.EndsWith("\n" + bodyHash, result.CanonicalRequest, StringComparison.Ordinal);
        Assert.Equal(bodyHash, request.Headers.GetValues("X-Amz-Content-SHA256").Single());
        Assert.Contains("/20150830/us-east-1/sagemaker/aws4_request", result.Authorization, StringComparison.Ordinal);
        // A non-seekable body was spooled to a temporary file while hashed (not buffered in memory); a seekable one is sent as given.
        Assert.Equal(seekable, ReferenceEquals(original, request.Content));
        Assert.Equal(bytes.Length, request.Content!.Headers.ContentLength);
        Assert.Equal(bytes, await request.Content!.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        // Signing again (a retry or a 401 refresh) hashes the same body.
        var again = await credential.SignAsync(request, TestContext.Current.CancellationToken);
        Assert.EndsWith("\n" + bodyHash, again.CanonicalRequest, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_wire_query_keeps_the_callers_order_and_only_the_canonical_request_sorts()
    {
        // Repeated order_by parameters are a priority list: botocore and the sagemaker-mlflow plugin send them as asked.
        using var server = WireMock.Server.WireMockServer.Start();
        server.Given(WireMock.RequestBuilders.Request.Create().WithPath("/api/2.0/mlflow/registered-models/search").UsingGet())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithHeader("Content-Type", "application/json").WithBody("{}"));
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = server.Url, MaxRetries = 0, Credential = SageMakerCredential() });

        await client.ModelRegistry.SearchPageAsync(new SearchRegisteredModelsOptions { OrderBy = ["name DESC", "last_updated_timestamp ASC"], Filter = "name LIKE 'a+b%'" }, TestContext.Current.CancellationToken);

        var sent = Assert.Single(server.LogEntries).RequestMessage;
        var rawQuery = new Uri(sent.AbsoluteUrl).Query;
        var orderBy = rawQuery.TrimStart('?').Split('&').Where(p => p.StartsWith("order_by=", StringComparison.Ordinal)).ToList();
        Assert.Equal(["order_by=name%20DESC", "order_by=last_updated_timestamp%20ASC"], orderBy);

        // The signature covers the sorted form: recompute it from what was sent.
        using var replay = new HttpRequestMessage(HttpMethod.Get, sent.AbsoluteUrl);
        var result = await SageMakerCredential().SignAsync(replay, TestContext.Current.CancellationToken);
        Assert.Contains("&order_by=last_updated_timestamp%20ASC&order_by=name%20DESC\n", result.CanonicalRequest, StringComparison.Ordinal);
        Assert.Equal(rawQuery, replay.RequestUri!.Query);
        Assert.Equal(result.Authorization, sent.Headers!["Authorization"].Single());
    }

    [Fact]
    public void SigV4Result_prints_no_canonical_request_or_authorization()
    {
        var result = SigV4Signer.Authorize("GET\n/\n\nx-amz-security-token:SESSION\n\nx-amz-security-token\nhash", "x-amz-security-token", Credentials, "us-east-1", "service", Time);

        Assert.DoesNotContain("SESSION", result.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Signature=", result.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(AccessKey, result.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Session_token_is_sent_and_signed()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://api.example.com:8443/prefix/api/2.0/mlflow/experiments/get?experiment_id=1");
        var credential = new AwsSigV4Credential(new SessionAWSCredentials(AccessKey, SecretKey, "SESSION-TOKEN"), "eu-west-1", "execute-api", timeProvider: Clock());

        var result = await credential.SignAsync(request, TestContext.Current.CancellationToken);

        Assert.Contains("host:api.example.com:8443\n", result.CanonicalRequest, StringComparison.Ordinal);
        Assert.Contains("x-amz-security-token:SESSION-TOKEN\n", result.CanonicalRequest, StringComparison.Ordinal);
        Assert.Contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,", result.Authorization, StringComparison.Ordinal);
        Assert.Equal("SESSION-TOKEN", request.Headers.GetValues("X-Amz-Security-Token").Single());
        Assert.DoesNotContain(SecretKey, credential.ToString(), StringComparison.Ordinal);
    }

    private static AwsSigV4Credential SageMakerCredential() =>
        new(new BasicAWSCredentials(AccessKey, SecretKey), "us-east-1", "sagemaker-mlflow",
            new Dictionary<string, string> { ["x-mlflow-sm-tracking-server-arn"] = Arn }, Clock());

    private static FakeTimeProvider Clock() => new(Time);

    /// <summary>Recomputes the string to sign and the signature with our own HMAC chain (not the SDK).</summary>
    private static void AssertSignedIndependently(SigV4Result result, string canonical, string service, string signedHeaders)
    {
        var stringToSign = $"AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/{service}/aws4_request\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
        Assert.Equal(stringToSign, result.StringToSign);
        var key = Hmac(Encoding.UTF8.GetBytes("AWS4" + SecretKey), "20150830");
        key = Hmac(key, "us-east-1");
        key = Hmac(key, service);
        key = Hmac(key, "aws4_request");
        var signature = Hex(Hmac(key, stringToSign));
        Assert.Equal($"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/{service}/aws4_request, SignedHeaders={signedHeaders}, Signature={signature}", result.Authorization);
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    private static SortedDictionary<string, string> Headers(params (string Name, string Value)[] headers)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in headers)
        {
            result[name] = value;
        }

        return result;
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
