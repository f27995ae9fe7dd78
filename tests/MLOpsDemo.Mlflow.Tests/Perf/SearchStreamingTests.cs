using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;

namespace MLOpsDemo.Mlflow.Tests.Perf;

/// <summary>
/// <c>Runs.SearchAsync</c> and <c>Runs.GetMetricHistoryAsync</c> stream: each asks for a page only when the previous one
/// is consumed and holds no earlier page, so enumerating 50,000 runs or a history of 1,000,000 points needs the memory of
/// one page (the benchmarks measure the time and memory; this checks the property itself). The items of each page are
/// tracked by weak references; after the caller has moved two pages on, a full garbage collection must reclaim every item
/// of the first page.
/// </summary>
public sealed class SearchStreamingTests
{
    private const int PageSize = 200;
    private const int Pages = 5;
    private const int HistoryPageSize = 2000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Enumerating_a_search_fetches_pages_lazily_and_keeps_no_earlier_page_alive()
    {
        var handler = new SearchPagesHandler();
        using var client = new MlflowClient(new HttpClient(handler), new MlflowClientOptions { TrackingUri = "http://mlflow.test", MaxRetries = 0 });
        var seen = new List<WeakReference>[Pages];
        for (var p = 0; p < Pages; p++)
        {
            seen[p] = [];
        }

        var count = 0;
        var collectedWhenOnPage3 = -1;
        await foreach (var run in client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = ["1"], PageSize = PageSize }, Ct))
        {
            var page = count / PageSize;
            Assert.Equal(Id(count), run.Info.RunId); // every run once, in order
            Assert.Equal(page + 1, handler.Requests); // the next page is fetched only when this one is used up
            if (count == 2 * PageSize)
            {
                // First run of the third page: the caller holds nothing of page 1; the library must not either.
                collectedWhenOnPage3 = CountCollected(seen[0]);
            }

            seen[page].Add(new WeakReference(run));
            count++;
        }

        Assert.Equal(Pages * PageSize, count);
        Assert.Equal(Pages, handler.Requests);
        Assert.Equal(PageSize, collectedWhenOnPage3);
    }

    [Fact]
    public async Task Enumerating_a_metric_history_fetches_pages_lazily_and_keeps_no_earlier_page_alive()
    {
        var handler = new HistoryPagesHandler();
        using var client = new MlflowClient(new HttpClient(handler), new MlflowClientOptions { TrackingUri = "http://mlflow.test", MaxRetries = 0 });
        var seen = new List<WeakReference>[Pages];
        for (var p = 0; p < Pages; p++)
        {
            seen[p] = [];
        }

        var count = 0;
        var collectedWhenOnPage3 = -1;
        await foreach (var point in client.Runs.GetMetricHistoryAsync(Id(7), "loss", pageSize: HistoryPageSize, Ct))
        {
            var page = count / HistoryPageSize;
            Assert.Equal(count, point.Step); // every point once, in order
            Assert.Equal(page + 1, handler.Requests); // the next page is fetched only when this one is used up
            if (count == 2 * HistoryPageSize)
            {
                collectedWhenOnPage3 = CountCollected(seen[0]);
            }

            seen[page].Add(new WeakReference(point));
            count++;
        }

        Assert.Equal(Pages * HistoryPageSize, count);
        Assert.Equal(Pages, handler.Requests);
        Assert.Equal(HistoryPageSize, collectedWhenOnPage3);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int CountCollected(List<WeakReference> references)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return references.Count(r => !r.IsAlive);
    }

    private static string Id(int index) => index.ToString("x32", CultureInfo.InvariantCulture);

    /// <summary>Answers <c>runs/search</c> with <see cref="Pages"/> pages of <see cref="PageSize"/> runs; keeps nothing it sent.</summary>
    private sealed class SearchPagesHandler : HttpMessageHandler
    {
        private int _requests;

        public int Requests => Volatile.Read(ref _requests);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Assert.EndsWith("/api/2.0/mlflow/runs/search", request.RequestUri!.AbsolutePath, StringComparison.Ordinal);
            var body = await request.Content!.ReadAsStringAsync(cancellationToken);
            var page = Interlocked.Increment(ref _requests) - 1;
            Assert.Equal(page == 0, !body.Contains("page_token", StringComparison.Ordinal));
            var json = new StringBuilder("{\"runs\":[");
            for (var i = 0; i < PageSize; i++)
            {
                json.Append(i == 0 ? "" : ",")
                    .Append("{\"info\":{\"run_id\":\"").Append(Id((page * PageSize) + i))
                    .Append("\",\"experiment_id\":\"1\",\"status\":\"FINISHED\",\"lifecycle_stage\":\"active\"},\"data\":{\"metrics\":[{\"key\":\"loss\",\"value\":0.5,\"timestamp\":1,\"step\":1}],\"tags\":[{\"key\":\"t\",\"value\":\"")
                    .Append('x', 200)
                    .Append("\"}]}}");
            }

            json.Append(']');
            if (page + 1 < Pages)
            {
                json.Append(",\"next_page_token\":\"p").Append(page + 1).Append('"');
            }

            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(json.Append('}').ToString(), Encoding.UTF8, "application/json") };
        }
    }

    /// <summary>Answers <c>metrics/get-history</c> with <see cref="Pages"/> pages of <see cref="HistoryPageSize"/> points (steps 0, 1, ...); keeps nothing it sent.</summary>
    private sealed class HistoryPagesHandler : HttpMessageHandler
    {
        private int _requests;

        public int Requests => Volatile.Read(ref _requests);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Assert.EndsWith("/api/2.0/mlflow/metrics/get-history", request.RequestUri!.AbsolutePath, StringComparison.Ordinal);
            var query = request.RequestUri.Query;
            Assert.Contains("max_results=" + HistoryPageSize.ToString(CultureInfo.InvariantCulture), query, StringComparison.Ordinal);
            var page = Interlocked.Increment(ref _requests) - 1;
            Assert.Equal(page == 0, !query.Contains("page_token", StringComparison.Ordinal));
            var json = new StringBuilder("{\"metrics\":[");
            for (var i = 0; i < HistoryPageSize; i++)
            {
                var step = (page * HistoryPageSize) + i;
                json.Append(i == 0 ? "" : ",").Append(CultureInfo.InvariantCulture, $"{{\"key\":\"loss\",\"value\":{step * 0.001},\"timestamp\":{1767225600000 + step},\"step\":{step}}}");
            }

            json.Append(']');
            if (page + 1 < Pages)
            {
                json.Append(",\"next_page_token\":\"p").Append(page + 1).Append('"');
            }

            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(json.Append('}').ToString(), Encoding.UTF8, "application/json") });
        }
    }
}
