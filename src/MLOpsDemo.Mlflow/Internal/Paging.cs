using System.Runtime.CompilerServices;

namespace MLOpsDemo.Mlflow.Internal;

/// <summary>Lazy paging over MLflow's <c>next_page_token</c>.</summary>
internal static class Paging
{
    /// <summary>
    /// Yields every item, fetching the next page only when needed. Stops on a missing token or an empty page
    /// (MLflow 2.22 returns a token after a full last page, then <c>{}</c>), and on a token that repeats.
    /// </summary>
    public static async IAsyncEnumerable<T> AllAsync<T>(Func<string?, CancellationToken, Task<MlflowPage<T>>> fetch, string? firstToken, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var token = firstToken;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = await fetch(token, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            if (string.IsNullOrEmpty(page.NextPageToken) || page.Items.Count == 0 || page.NextPageToken == token)
            {
                yield break;
            }

            token = page.NextPageToken;
        }
    }
}
