namespace MLOpsDemo.Mlflow.Tests.Sqlite;

public class SqliteSearchTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(TempFolder Folder, MlflowClient Client, string Exp, Dictionary<string, string> Ids)> SeedAsync()
    {
        var folder = new TempFolder();
        var client = folder.Client();
        var exp = await client.Experiments.CreateAsync("search", cancellationToken: Ct);
        var ids = new Dictionary<string, string>();
        async Task Add(string name, long start, double? acc, string? lr, string? team, double? loss = null)
        {
            var run = await client.Runs.CreateAsync(exp, new CreateRunOptions { RunName = name, StartTime = DateTimeOffset.FromUnixTimeMilliseconds(start) }, Ct);
            ids[name] = run.Info.RunId;
            var metrics = new List<Metric>();
            if (acc is not null)
            {
                metrics.Add(new Metric("acc", acc.Value, start, 0));
            }

            if (loss is not null)
            {
                metrics.Add(new Metric("val loss", loss.Value, start, 0));
            }

            await client.Runs.LogBatchAsync(
                run.Info.RunId,
                metrics,
                lr is null ? null : [new("lr", lr)],
                team is null ? null : [new("team", team)],
                Ct);
        }

        await Add("GoldenA", 1000, 0.9, "0.1", "Vision");
        await Add("goldenB", 2000, 0.5, "10", "vision", 1.5);
        await Add("other", 3000, double.NaN, "9", null, 0.5);
        await Add("bare", 4000, null, null, null);
        return (folder, client, exp, ids);
    }

    private static async Task<List<string>> NamesAsync(MlflowClient client, string exp, string? filter, params string[] orderBy)
    {
        var names = new List<string>();
        await foreach (var run in client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [exp], Filter = filter, OrderBy = orderBy.Length == 0 ? null : orderBy }, Ct))
        {
            names.Add(run.Info.RunName!);
        }

        return names;
    }

    [Theory]
    [InlineData(null, "bare,other,goldenB,GoldenA")]
    [InlineData("metrics.acc > 0.6", "GoldenA")]
    [InlineData("metrics.acc = 0", "other")] // a NaN latest value matches as 0, like MLflow
    [InlineData("metrics.acc < 1", "other,goldenB,GoldenA")]
    [InlineData("metrics.acc != 0.5", "other,GoldenA")]
    [InlineData("metrics.`val loss` <= 1", "other")]
    [InlineData("params.lr = '10'", "goldenB")]
    [InlineData("params.lr != '10'", "other,GoldenA")] // runs without the param never match
    [InlineData("params.lr IS NULL", "bare")]
    [InlineData("params.lr IS NOT NULL", "other,goldenB,GoldenA")]
    [InlineData("tags.team LIKE 'vis%'", "goldenB")] // LIKE is case-sensitive
    [InlineData("tags.team ILIKE 'VIS%'", "goldenB,GoldenA")]
    [InlineData("run_name LIKE 'golden%'", "goldenB")]
    [InlineData("attributes.run_name ILIKE 'GOLDEN%'", "goldenB,GoldenA")]
    [InlineData("`run name` = 'other'", "other")]
    [InlineData("start_time >= 2000 AND start_time < 4000", "other,goldenB")]
    [InlineData("created > 3000", "bare")]
    [InlineData("status = 'RUNNING' and metrics.acc >= 0.5", "goldenB,GoldenA")]
    [InlineData("tags.mlflow.runName = 'bare'", "bare")]
    public async Task Filters_select_the_same_runs_as_MLflow(string? filter, string expected)
    {
        var (folder, client, exp, _) = await SeedAsync();
        using var _f = folder;
        using var _c = client;
        Assert.Equal(expected, string.Join(",", await NamesAsync(client, exp, filter)));
    }

    [Theory]
    [InlineData("metrics.acc DESC", "GoldenA,goldenB,other,bare")] // NaN after real values, missing last
    [InlineData("metrics.acc ASC", "goldenB,GoldenA,other,bare")]
    [InlineData("params.lr ASC", "GoldenA,goldenB,other,bare")] // text order: '0.1' < '10' < '9'
    [InlineData("params.lr DESC", "other,goldenB,GoldenA,bare")]
    [InlineData("run_name ASC", "GoldenA,bare,goldenB,other")]
    [InlineData("start_time ASC", "GoldenA,goldenB,other,bare")]
    [InlineData("tags.team DESC", "goldenB,GoldenA,bare,other")] // missing keys last, then start_time DESC
    public async Task Order_by_sorts_like_MLflow(string orderBy, string expected)
    {
        var (folder, client, exp, _) = await SeedAsync();
        using var _f = folder;
        using var _c = client;
        Assert.Equal(expected, string.Join(",", await NamesAsync(client, exp, null, orderBy)));
    }

    [Fact]
    public async Task Run_id_lists_and_view_types()
    {
        var (folder, client, exp, ids) = await SeedAsync();
        using var _f = folder;
        using var _c = client;
        Assert.Equal("goldenB,GoldenA", string.Join(",", await NamesAsync(client, exp, $"run_id IN ('{ids["GoldenA"]}', '{ids["goldenB"]}', '{ids["other"].ToUpperInvariant()}')")));
        Assert.Equal("bare,other", string.Join(",", await NamesAsync(client, exp, $"run_id NOT IN ('{ids["GoldenA"]}', '{ids["goldenB"]}')")));
        await client.Runs.DeleteAsync(ids["bare"], Ct);
        Assert.Equal("other,goldenB,GoldenA", string.Join(",", await NamesAsync(client, exp, null)));
        var deleted = await client.Runs.SearchPageAsync(new SearchRunsOptions { ExperimentIds = [exp], ViewType = ViewType.DeletedOnly }, Ct);
        Assert.Equal("bare", Assert.Single(deleted.Items).Info.RunName);
        var all = await client.Runs.SearchPageAsync(new SearchRunsOptions { ExperimentIds = [exp], ViewType = ViewType.All }, Ct);
        Assert.Equal(4, all.Items.Count);
    }

    [Fact]
    public async Task Pages_follow_offset_tokens()
    {
        var (folder, client, exp, _) = await SeedAsync();
        using var _f = folder;
        using var _c = client;
        var first = await client.Runs.SearchPageAsync(new SearchRunsOptions { ExperimentIds = [exp], PageSize = 3 }, Ct);
        Assert.Equal(["bare", "other", "goldenB"], first.Items.Select(r => r.Info.RunName));
        Assert.Equal("eyJvZmZzZXQiOiAzfQ==", first.NextPageToken);
        var second = await client.Runs.SearchPageAsync(new SearchRunsOptions { ExperimentIds = [exp], PageSize = 3, PageToken = first.NextPageToken }, Ct);
        Assert.Equal(["GoldenA"], second.Items.Select(r => r.Info.RunName));
        Assert.Null(second.NextPageToken);
        var exact = await client.Runs.SearchPageAsync(new SearchRunsOptions { ExperimentIds = [exp], PageSize = 4 }, Ct);
        Assert.Null(exact.NextPageToken); // no token when the page is exactly full (3.x rule)
        var bad = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.SearchPageAsync(new SearchRunsOptions { ExperimentIds = [exp], PageToken = "eyJvZmZzZXQiOiAwfQ==" }, Ct));
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, bad.ErrorCode);
        var badFilter = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.SearchPageAsync(new SearchRunsOptions { ExperimentIds = [exp], Filter = "metrics.a > 1 OR metrics.b < 2" }, Ct));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, badFilter.StatusCode);
    }

    [Fact]
    public async Task Experiments_search_filters_orders_and_pages()
    {
        using var folder = new TempFolder();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_000_000));
        using var client = folder.Client(time);
        await client.Experiments.GetAsync("0", Ct);
        foreach (var (name, team) in new[] { ("prod-a", "vision"), ("prod-B", "nlp"), ("dev", (string?)null) })
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await client.Experiments.CreateAsync(name, tags: team is null ? null : new Dictionary<string, string> { ["team"] = team }, cancellationToken: Ct);
        }

        async Task<string> Names(SearchExperimentsOptions options)
        {
            var names = new List<string>();
            await foreach (var e in client.Experiments.SearchAsync(options, Ct))
            {
                names.Add(e.Name);
            }

            return string.Join(",", names);
        }

        Assert.Equal("dev,prod-B,prod-a,Default", await Names(new SearchExperimentsOptions()));
        Assert.Equal("prod-a", await Names(new SearchExperimentsOptions { Filter = "name LIKE 'prod-%' AND tags.team = 'vision'" }));
        Assert.Equal("prod-B,prod-a", await Names(new SearchExperimentsOptions { Filter = "name ILIKE 'PROD%'" }));
        Assert.Equal("dev,Default", await Names(new SearchExperimentsOptions { Filter = "tags.team IS NULL" }));
        Assert.Equal("dev,prod-B", await Names(new SearchExperimentsOptions { Filter = "creation_time > 1001000" }));
        Assert.Equal("Default,dev,prod-B,prod-a", await Names(new SearchExperimentsOptions { OrderBy = ["name ASC"] }));
        Assert.Equal("dev,prod-B,prod-a,Default", await Names(new SearchExperimentsOptions { OrderBy = ["experiment_id DESC"], PageSize = 1 }));
        var page = await client.Experiments.SearchPageAsync(new SearchExperimentsOptions { PageSize = 2 }, Ct);
        Assert.Equal("eyJvZmZzZXQiOiAyfQ==", page.NextPageToken);
        await client.Experiments.DeleteAsync("3", Ct);
        Assert.Equal("dev", await Names(new SearchExperimentsOptions { ViewType = ViewType.DeletedOnly }));
    }
}
