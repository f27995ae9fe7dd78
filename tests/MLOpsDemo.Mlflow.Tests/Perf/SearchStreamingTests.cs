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
        await AssertStreamsAsync(
            client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = ["1"], PageSize = PageSize }, Ct),
            PageSize,
            () => handler.Requests,
            (run, index) => Assert.Equal(Id(index), run.Info.RunId));
    }

    [Fact]
    public async Task Enumerating_a_metric_history_fetches_pages_lazily_and_keeps_no_earlier_page_alive()
    {
        var handler = new HistoryPagesHandler();
        using var client = new MlflowClient(new HttpClient(handler), new MlflowClientOptions { TrackingUri = "http://mlflow.test", MaxRetries = 0 });
        await AssertStreamsAsync(
            client.Runs.GetMetricHistoryAsync(Id(7), "loss", pageSize: HistoryPageSize, Ct),
            HistoryPageSize,
            () => handler.Requests,
            (point, index) => Assert.Equal(index, point.Step));
    }

    /// <summary>
    /// Enumerates <paramref name="items"/> (served as <see cref="Pages"/> pages of <paramref name="pageSize"/>): every item
    /// once and in order (<paramref name="check"/>), the next page requested only when the current one is used up, and on
    /// the first item of the third page every item of the first page already reclaimed by a full collection.
    /// </summary>
    private static async Task AssertStreamsAsync<T>(IAsyncEnumerable<T> items, int pageSize, Func<int> requests, Action<T, int> check)
        where T : class
    {
        var seen = new List<WeakReference>[Pages];
        for (var p = 0; p < Pages; p++)
        {
            seen[p] = [];
        }

        var count = 0;
        var collectedWhenOnPage3 = -1;
        await foreach (var item in items)
        {
            var page = count / pageSize;
            check(item, count);
            Assert.Equal(page + 1, requests());
            if (count == 2 * pageSize)
            {
                // The caller holds nothing of page 1; the library must not either.
                collectedWhenOnPage3 = CountCollected(seen[0]);
            }

            seen[page].Add(new WeakReference(item));
            count++;
        }

        Assert.Equal(Pages * pageSize, count);
        Assert.Equal(Pages, requests());
        Assert.Equal(pageSize, collectedWhenOnPage3);
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
