using MLOpsDemo.Mlflow.IntegrationTests.Infrastructure;

namespace MLOpsDemo.Mlflow.IntegrationTests;

/// <summary>
/// Paging and search against a real MLflow server: hundreds of runs and experiments walked page by page, long metric
/// histories, view types and the filter grammar the server evaluates.
/// </summary>
public class TrackingPagingTests(MlflowServerFixture server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [DockerFact]
    public async Task Search_runs_walks_hundreds_of_runs_page_by_page_in_order()
    {
        using var client = server.CreateClient();
        var experimentId = await client.Experiments.CreateAsync(MlflowServerFixture.UniqueName("it-paging-runs"), cancellationToken: Ct);
        const int RunCount = 250;
        var created = new string[RunCount];
        await Parallel.ForAsync(0, RunCount, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct }, async (i, ct) =>
        {
            var tags = new Dictionary<string, string> { ["parity"] = i % 2 == 0 ? "even" : "odd" };
            created[i] = (await client.Runs.CreateAsync(experimentId, new CreateRunOptions { RunName = $"r{i:D3}", Tags = tags }, ct)).Info.RunId;
        });

        // The enumerator follows the server's page tokens: every run exactly once, in the server's order.
        var all = await client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [experimentId], OrderBy = ["attributes.run_name ASC"], PageSize = 100 }, Ct).ToListAsync(Ct);
        Assert.Equal(created, all.Select(r => r.Info.RunId));

        // The same walk by hand: three pages of at most 100, the last without a token.
        var pages = new List<MlflowPage<Run>>();
        string? token = null;
        do
        {
            var page = await client.Runs.SearchPageAsync(new SearchRunsOptions { ExperimentIds = [experimentId], OrderBy = ["attributes.run_name DESC"], PageSize = 100, PageToken = token }, Ct);
            pages.Add(page);
            token = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(token));
        Assert.Equal([100, 100, 50], pages.Select(p => p.Items.Count));
        Assert.Equal(Enumerable.Reverse(created), pages.SelectMany(p => p.Items).Select(r => r.Info.RunId));

        var evens = await client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [experimentId], Filter = "tags.parity = 'even' and attributes.run_name LIKE 'r23%'", PageSize = 2 }, Ct).ToListAsync(Ct);
        Assert.Equal(Enumerable.Range(230, 10).Where(i => i % 2 == 0).Select(i => created[i]).Order(StringComparer.Ordinal), evens.Select(r => r.Info.RunId).Order(StringComparer.Ordinal));
        var named = await client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [experimentId], Filter = "attributes.run_name = 'r123'" }, Ct).ToListAsync(Ct);
        Assert.Equal(created[123], Assert.Single(named).Info.RunId);
    }

    [DockerFact]
    public async Task Search_experiments_walks_hundreds_of_experiments_with_filters()
    {
        using var client = server.CreateClient();
        var prefix = MlflowServerFixture.UniqueName("it-paging-exp");
        const int ExperimentCount = 210;
        var ids = new string[ExperimentCount];
        await Parallel.ForAsync(0, ExperimentCount, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct }, async (i, ct) =>
        {
            ids[i] = await client.Experiments.CreateAsync($"{prefix}-{i:D3}", tags: new Dictionary<string, string> { ["group"] = i % 3 == 0 ? "three" : "other" }, cancellationToken: ct);
        });

        var all = await client.Experiments.SearchAsync(new SearchExperimentsOptions { Filter = $"name LIKE '{prefix}-%'", OrderBy = ["name ASC"], PageSize = 50 }, Ct).ToListAsync(Ct);
        Assert.Equal(ids, all.Select(e => e.ExperimentId));
        Assert.Equal(ExperimentCount, all.Select(e => e.ExperimentId).Distinct().Count());

        var first = await client.Experiments.SearchPageAsync(new SearchExperimentsOptions { Filter = $"name LIKE '{prefix}-%'", PageSize = 200 }, Ct);
        Assert.Equal(200, first.Items.Count);
        Assert.False(string.IsNullOrEmpty(first.NextPageToken));
        var rest = await client.Experiments.SearchPageAsync(new SearchExperimentsOptions { Filter = $"name LIKE '{prefix}-%'", PageSize = 200, PageToken = first.NextPageToken }, Ct);
        Assert.Equal(10, rest.Items.Count);

        var threes = await client.Experiments.SearchAsync(new SearchExperimentsOptions { Filter = $"name LIKE '{prefix}-%' AND tags.group = 'three'", PageSize = 25 }, Ct).ToListAsync(Ct);
        Assert.Equal(70, threes.Count);

        // Deleted experiments leave the default view and show up in DeletedOnly.
        await client.Experiments.DeleteAsync(ids[0], Ct);
        await client.Experiments.DeleteAsync(ids[1], Ct);
        var active = await client.Experiments.SearchAsync(new SearchExperimentsOptions { Filter = $"name LIKE '{prefix}-%'", PageSize = 100 }, Ct).ToListAsync(Ct);
        Assert.Equal(ExperimentCount - 2, active.Count);
        var deleted = await client.Experiments.SearchAsync(new SearchExperimentsOptions { Filter = $"name LIKE '{prefix}-%'", ViewType = ViewType.DeletedOnly }, Ct).ToListAsync(Ct);
        Assert.Equal(new[] { ids[0], ids[1] }.Order(StringComparer.Ordinal), deleted.Select(e => e.ExperimentId).Order(StringComparer.Ordinal));
    }

    [DockerFact]
    public async Task Metric_history_of_twelve_thousand_points_comes_back_complete_over_pages()
    {
        using var client = server.CreateClient();
        var experimentId = await client.Experiments.CreateAsync(MlflowServerFixture.UniqueName("it-history"), cancellationToken: Ct);
        var runId = (await client.Runs.CreateAsync(experimentId, cancellationToken: Ct)).Info.RunId;
        const int Points = 12_000;
        for (var start = 0; start < Points; start += 1000)
        {
            var batch = Enumerable.Range(start, 1000).Select(i => new Metric("loss", 1.0 / (i + 1), 1_700_000_000_000 + i, i)).ToList();
            await client.Runs.LogBatchAsync(runId, batch, cancellationToken: Ct);
        }

        var history = await client.Runs.GetMetricHistoryAsync(runId, "loss", pageSize: 5_000, cancellationToken: Ct).ToListAsync(Ct);
        Assert.Equal(Points, history.Count);
        Assert.Equal(Enumerable.Range(0, Points).Select(i => (long)i), history.Select(m => m.Step).Order());
        Assert.All(history, m => Assert.Equal(1.0 / (m.Step + 1), m.Value));
        Assert.All(history, m => Assert.Equal(1_700_000_000_000 + m.Step, m.Timestamp));

        var window = await client.Runs.GetMetricHistoryBulkIntervalAsync([runId], "loss", startStep: 100, endStep: 199, maxResults: 100, cancellationToken: Ct);
        Assert.Equal(Enumerable.Range(100, 100).Select(i => (long)i), window.Select(m => m.Step).Order());
    }

    [DockerFact]
    public async Task Deleted_runs_are_found_only_with_their_view_type_and_status_filters_work()
    {
        using var client = server.CreateClient();
        var experimentId = await client.Experiments.CreateAsync(MlflowServerFixture.UniqueName("it-viewtype"), cancellationToken: Ct);
        var kept = await client.Runs.CreateAsync(experimentId, new CreateRunOptions { Tags = new Dictionary<string, string> { ["team"] = "a" } }, Ct);
        var dropped = await client.Runs.CreateAsync(experimentId, new CreateRunOptions { Tags = new Dictionary<string, string> { ["team"] = "b" } }, Ct);
        await client.Runs.SetTerminatedAsync(kept.Info.RunId, RunStatus.Finished, cancellationToken: Ct);
        await client.Runs.DeleteAsync(dropped.Info.RunId, Ct);

        async Task<string[]> Ids(ViewType? viewType, string? filter = null) =>
            (await client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [experimentId], ViewType = viewType, Filter = filter }, Ct).ToListAsync(Ct)).Select(r => r.Info.RunId).Order(StringComparer.Ordinal).ToArray();

        Assert.Equal([kept.Info.RunId], await Ids(null));
        Assert.Equal([kept.Info.RunId], await Ids(ViewType.ActiveOnly));
        Assert.Equal([dropped.Info.RunId], await Ids(ViewType.DeletedOnly));
        Assert.Equal(new[] { kept.Info.RunId, dropped.Info.RunId }.Order(StringComparer.Ordinal), await Ids(ViewType.All));
        Assert.Equal([kept.Info.RunId], await Ids(ViewType.All, "attributes.status = 'FINISHED'"));
        Assert.Equal([dropped.Info.RunId], await Ids(ViewType.All, "tags.team = 'b'"));
        Assert.Empty(await Ids(ViewType.ActiveOnly, "tags.team = 'b'"));
    }
}
