using System.Net;
using MLOpsDemo.Mlflow.Tests.TestSupport;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Tests.Tracking;

public class ExperimentsClientTests : IDisposable
{
    private const string Api = "/api/2.0/mlflow/experiments/";
    private readonly WireMockServer _server = WireMockServer.Start();
    private readonly MlflowClient _client;

    public ExperimentsClientTests() => _client = TestClients.For(_server);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _client.Dispose();
        _server.Dispose();
    }

    [Fact]
    public async Task CreateAsync_posts_name_location_and_tags_and_returns_the_id()
    {
        _server.Json("POST", Api + "create", """{"experiment_id":"42"}""");
        var id = await _client.Experiments.CreateAsync("exp", "s3://bucket/exp", new Dictionary<string, string> { ["team"] = "a" }, Ct);
        Assert.Equal("42", id);
        Assert.Single(_server.LogEntries).AssertRequest("POST", Api + "create", """{"name":"exp","artifact_location":"s3://bucket/exp","tags":[{"key":"team","value":"a"}]}""");
    }

    [Fact]
    public async Task CreateAsync_without_optional_fields_sends_only_the_name()
    {
        _server.Json("POST", Api + "create", """{"experiment_id":"7"}""");
        await _client.Experiments.CreateAsync("exp", cancellationToken: Ct);
        Assert.Single(_server.LogEntries).AssertRequest("POST", Api + "create", """{"name":"exp"}""");
    }

    [Fact]
    public async Task GetAsync_sends_experiment_id_in_the_query_and_parses_the_experiment()
    {
        _server.Json("GET", Api + "get", """{"experiment":{"experiment_id":"3","name":"n","artifact_location":"a","lifecycle_stage":"deleted","creation_time":5,"last_update_time":6,"tags":[{"key":"k","value":"v"}]}}""");
        var e = await _client.Experiments.GetAsync("3", Ct);
        Assert.Equal(("3", "n", "a", "deleted", 5L, 6L), (e.ExperimentId, e.Name, e.ArtifactLocation, e.LifecycleStage, e.CreationTime, e.LastUpdateTime));
        Assert.Equal("v", e.Tags["k"]);
        Assert.Single(_server.LogEntries).AssertRequest("GET", Api + "get", query: "experiment_id=3");
    }

    [Fact]
    public async Task An_experiment_without_tags_has_an_empty_tag_dictionary_not_null()
    {
        _server.Json("GET", Api + "get", """{"experiment":{"experiment_id":"3","name":"n"}}""");
        var e = await _client.Experiments.GetAsync("3", Ct);
        Assert.Empty(e.Tags);
        Assert.Equal(LifecycleStage.Active, e.LifecycleStage);
    }

    [Fact]
    public async Task GetByNameAsync_escapes_the_name_and_returns_the_experiment()
    {
        _server.Json("GET", Api + "get-by-name", """{"experiment":{"experiment_id":"9","name":"a b&c"}}""");
        var e = await _client.Experiments.GetByNameAsync("a b&c", Ct);
        Assert.Equal("9", e!.ExperimentId);
        var entry = Assert.Single(_server.LogEntries);
        Assert.Equal("a b&c", entry.QueryValue("experiment_name"));
    }

    [Fact]
    public async Task GetByNameAsync_returns_null_on_RESOURCE_DOES_NOT_EXIST()
    {
        _server.Json("GET", Api + "get-by-name", """{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Could not find experiment"}""", 404);
        Assert.Null(await _client.Experiments.GetByNameAsync("missing", Ct));
    }

    [Fact]
    public async Task GetByNameAsync_throws_other_errors()
    {
        _server.Json("GET", Api + "get-by-name", """{"error_code":"PERMISSION_DENIED","message":"no"}""", 403);
        var ex = await Assert.ThrowsAsync<MlflowException>(() => _client.Experiments.GetByNameAsync("x", Ct));
        Assert.Equal(HttpStatusCode.Forbidden, ex.StatusCode);
        Assert.Equal("PERMISSION_DENIED", ex.ErrorCode);
    }

    [Fact]
    public async Task GetAsync_of_a_missing_experiment_throws_RESOURCE_DOES_NOT_EXIST()
    {
        _server.Json("GET", Api + "get", """{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"No Experiment with id=99 exists"}""", 404);
        var ex = await Assert.ThrowsAsync<MlflowException>(() => _client.Experiments.GetAsync("99", Ct));
        Assert.Equal((HttpStatusCode.NotFound, MlflowErrorCodes.ResourceDoesNotExist, "No Experiment with id=99 exists"), (ex.StatusCode, ex.ErrorCode, ex.ServerMessage));
        Assert.Contains("RESOURCE_DOES_NOT_EXIST", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetOrCreateAsync_creates_when_missing_then_reads_it()
    {
        _server.Given(WireMock.RequestBuilders.Request.Create().WithPath(Api + "get-by-name").UsingGet())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(404).WithBody("""{"error_code":"RESOURCE_DOES_NOT_EXIST"}"""));
        _server.Json("POST", Api + "create", """{"experiment_id":"5"}""");
        _server.Json("GET", Api + "get", """{"experiment":{"experiment_id":"5","name":"new"}}""");
        var e = await _client.Experiments.GetOrCreateAsync("new", Ct);
        Assert.Equal("5", e.ExperimentId);
        Assert.Equal(["get-by-name", "create", "get"], _server.LogEntries.Select(l => l.RequestMessage.AbsolutePath.Split('/')[^1]));
    }

    [Fact]
    public async Task SearchAsync_always_sends_max_results_and_follows_tokens_lazily()
    {
        _server.Given(WireMock.RequestBuilders.Request.Create().WithPath(Api + "search").UsingPost().WithBody(new WireMock.Matchers.JsonPartialMatcher("""{"page_token":"t1"}""")))
            .AtPriority(1)
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithBody("""{"experiments":[{"experiment_id":"2","name":"b"}]}"""));
        _server.Json("POST", Api + "search", """{"experiments":[{"experiment_id":"1","name":"a"}],"next_page_token":"t1"}""");

        var options = new SearchExperimentsOptions { Filter = "name LIKE 'a%'", OrderBy = ["name ASC"], ViewType = ViewType.All, PageSize = 1 };
        await using var enumerator = _client.Experiments.SearchAsync(options, Ct).GetAsyncEnumerator(Ct);
        Assert.True(await enumerator.MoveNextAsync());
        Assert.Equal("a", enumerator.Current.Name);
        Assert.Single(_server.LogEntries); // lazy: page 2 not fetched yet
        Assert.True(await enumerator.MoveNextAsync());
        Assert.Equal("b", enumerator.Current.Name);
        Assert.False(await enumerator.MoveNextAsync());

        var entries = _server.LogEntries.ToList();
        Assert.Equal(2, entries.Count);
        entries[0].AssertRequest("POST", Api + "search", """{"max_results":1,"filter":"name LIKE 'a%'","order_by":["name ASC"],"view_type":"ALL"}""");
        entries[1].AssertRequest("POST", Api + "search", """{"max_results":1,"filter":"name LIKE 'a%'","order_by":["name ASC"],"view_type":"ALL","page_token":"t1"}""");
    }

    [Fact]
    public async Task SearchAsync_uses_the_default_page_size_of_1000()
    {
        _server.Json("POST", Api + "search", "{}");
        Assert.Empty(await _client.Experiments.SearchAsync(cancellationToken: Ct).ToListAsync(Ct));
        Assert.Single(_server.LogEntries).AssertRequest("POST", Api + "search", """{"max_results":1000}""");
    }

    [Fact]
    public async Task SearchAsync_stops_when_the_server_repeats_a_token_with_an_empty_page()
    {
        // MLflow 3.11 answers an empty page with a token (e.g. get-history without max_results): never loop.
        _server.Json("POST", Api + "search", """{"next_page_token":"same"}""");
        Assert.Empty(await _client.Experiments.SearchAsync(cancellationToken: Ct).ToListAsync(Ct));
        Assert.Single(_server.LogEntries);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(50_001)]
    public async Task SearchAsync_refuses_a_bad_page_size_before_any_request(int size)
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _client.Experiments.SearchPageAsync(new SearchExperimentsOptions { PageSize = size }, Ct));
        Assert.Empty(_server.LogEntries);
    }

    [Fact]
    public async Task RenameAsync_posts_update()
    {
        _server.Json("POST", Api + "update", "{}");
        await _client.Experiments.RenameAsync("3", "renamed", Ct);
        Assert.Single(_server.LogEntries).AssertRequest("POST", Api + "update", """{"experiment_id":"3","new_name":"renamed"}""");
    }

    [Fact]
    public async Task DeleteAsync_and_RestoreAsync_post_the_id()
    {
        _server.Json("POST", Api + "delete", "{}");
        _server.Json("POST", Api + "restore", "{}");
        await _client.Experiments.DeleteAsync("3", Ct);
        await _client.Experiments.RestoreAsync("3", Ct);
        var entries = _server.LogEntries.ToList();
        entries[0].AssertRequest("POST", Api + "delete", """{"experiment_id":"3"}""");
        entries[1].AssertRequest("POST", Api + "restore", """{"experiment_id":"3"}""");
    }

    [Fact]
    public async Task SetTagAsync_and_DeleteTagAsync_post_key_and_value()
    {
        _server.Json("POST", Api + "set-experiment-tag", "{}");
        _server.Json("POST", Api + "delete-experiment-tag", "{}");
        await _client.Experiments.SetTagAsync("1", "stage", "prod", Ct);
        await _client.Experiments.DeleteTagAsync("1", "stage", Ct);
        var entries = _server.LogEntries.ToList();
        entries[0].AssertRequest("POST", Api + "set-experiment-tag", """{"experiment_id":"1","key":"stage","value":"prod"}""");
        entries[1].AssertRequest("POST", Api + "delete-experiment-tag", """{"experiment_id":"1","key":"stage"}""");
    }

    [Fact]
    public async Task DeleteTagAsync_on_a_2x_server_gives_ENDPOINT_NOT_FOUND_from_the_html_page()
    {
        _server.Given(WireMock.RequestBuilders.Request.Create().WithPath(Api + "delete-experiment-tag"))
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(404).WithHeader("Content-Type", "text/html; charset=utf-8")
                .WithBody("<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server.</p>\n"));
        var ex = await Assert.ThrowsAsync<MlflowException>(() => _client.Experiments.DeleteTagAsync("1", "k", Ct));
        Assert.Equal(MlflowErrorCodes.EndpointNotFound, ex.ErrorCode);
        Assert.Equal(HttpStatusCode.NotFound, ex.StatusCode);
        Assert.Equal("404 Not Found: The requested URL was not found on the server.", ex.ServerMessage);
        Assert.StartsWith("<!doctype html>", ex.ResponseBody, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task Experiment_names_must_not_be_blank(string name)
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => _client.Experiments.CreateAsync(name, cancellationToken: Ct));
        Assert.Equal("name", ex.ParamName);
        Assert.Contains("empty", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_server.LogEntries);
    }

    [Fact]
    public async Task Experiment_names_longer_than_500_characters_are_refused()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => _client.Experiments.CreateAsync(new string('x', 501), cancellationToken: Ct));
        Assert.Contains("501", ex.Message, StringComparison.Ordinal);
        Assert.Contains("500", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Experiments.RenameAsync("1", new string('x', 501), Ct));
        Assert.Empty(_server.LogEntries);
    }

    [Fact]
    public async Task Experiment_tag_values_over_5000_characters_and_bad_keys_are_refused()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => _client.Experiments.SetTagAsync("1", "k", new string('v', 5001), Ct));
        Assert.Contains("5000", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Experiments.SetTagAsync("1", "bad!key", "v", Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Experiments.CreateAsync("e", tags: new Dictionary<string, string> { ["../x"] = "v" }, cancellationToken: Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Experiments.GetAsync(" ", Ct));
        Assert.Empty(_server.LogEntries);
    }
}
