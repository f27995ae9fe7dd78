using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;

namespace MLOpsDemo.Mlflow.Aws;

/// <summary>The parts of one SigV4 signature (for tests and diagnostics; never logged).</summary>
internal sealed record SigV4Result(string CanonicalRequest, string StringToSign, string Authorization)
{
    /// <summary>No canonical request (it holds the session token) and no Authorization value.</summary>
    /// <returns>A description without secrets.</returns>
    public override string ToString() => "SigV4Result { CanonicalRequest = ***, StringToSign = ***, Authorization = *** }";
}

/// <summary>
/// Builds the SigV4 canonical request of an <see cref="HttpRequestMessage"/> the way botocore's <c>SigV4Auth</c> does
/// for non-S3 services and signs it (AWS's published key-derivation and HMAC-SHA256 steps; the AWS SDK's internal
/// signer is not used). Only the credentials' public <see cref="ImmutableCredentials"/> come from the SDK.
/// </summary>
internal static class SigV4Signer
{
    public const string Algorithm = "AWS4-HMAC-SHA256";
    public const string EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// <summary>
    /// Signs <paramref name="request"/> in place: re-encodes each query parameter per RFC 3986 where the caller's
    /// encoding differs (a raw <c>+</c> means a space, as for MLflow's server) while keeping the parameters in the
    /// caller's order — repeated <c>order_by</c> parameters are a priority list; only the canonical request sorts them,
    /// as botocore does — and sets <c>X-Amz-Date</c>,
    /// <c>X-Amz-Content-SHA256</c>, <c>X-Amz-Security-Token</c> (session credentials) and <c>Authorization</c>.
    /// Signed headers: host, content-type, every <c>x-amz-*</c> header and <paramref name="extraSignedHeaders"/>.
    /// </summary>
    public static SigV4Result Sign(HttpRequestMessage request, ImmutableCredentials credentials, string region, string service, DateTimeOffset now, string payloadHash, IReadOnlyCollection<string> extraSignedHeaders)
    {
        var uri = request.RequestUri ?? throw new InvalidOperationException("The request has no URI to sign.");
        var wireQuery = EncodedQuery(uri.Query, sort: false);
        if (uri.Query.Length > 1 && !string.Equals(uri.Query[1..], wireQuery, StringComparison.Ordinal))
        {
            var builder = new UriBuilder(uri) { Query = wireQuery };
            request.RequestUri = builder.Uri;
            uri = request.RequestUri;
        }

        var canonicalQuery = CanonicalQuery(uri.Query);

        var amzDate = now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        request.Headers.Remove("Authorization");
        request.Headers.Remove("X-Amz-Date");
        request.Headers.Remove("X-Amz-Content-SHA256");
        request.Headers.Remove("X-Amz-Security-Token");
        request.Headers.TryAddWithoutValidation("X-Amz-Date", amzDate);
        request.Headers.TryAddWithoutValidation("X-Amz-Content-SHA256", payloadHash);
        if (!string.IsNullOrEmpty(credentials.Token))
        {
            request.Headers.TryAddWithoutValidation("X-Amz-Security-Token", credentials.Token);
        }

        var headers = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["host"] = uri.IsDefaultPort ? uri.IdnHost : uri.IdnHost + ":" + uri.Port.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var header in request.Headers)
        {
            var name = header.Key.ToLowerInvariant();
            if (name.StartsWith("x-amz-", StringComparison.Ordinal) || extraSignedHeaders.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                headers[name] = string.Join(",", header.Value.Select(CanonicalHeaderValue));
            }
        }

        if (request.Content?.Headers.ContentType is { } contentType)
        {
            headers["content-type"] = CanonicalHeaderValue(contentType.ToString());
        }

        var canonicalRequest = CanonicalRequest(request.Method.Method, uri.AbsolutePath, canonicalQuery, headers, payloadHash);
        var result = Authorize(canonicalRequest, string.Join(";", headers.Keys), credentials, region, service, now);
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", result.Authorization);
        return result;
    }

    /// <summary>
    /// Signs a canonical request: the signing key is HMAC-SHA256 of date, region, service and <c>aws4_request</c>
    /// chained from <c>"AWS4" + secret key</c>; the signature is the hex HMAC of the string to sign (AWS SigV4 docs,
    /// "Calculate the signature").
    /// </summary>
    public static SigV4Result Authorize(string canonicalRequest, string signedHeaders, ImmutableCredentials credentials, string region, string service, DateTimeOffset now)
    {
        var amzDate = now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var date = amzDate[..8];
        var stringToSign = StringToSign(amzDate, region, service, canonicalRequest);
        var key = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + credentials.SecretKey), Encoding.UTF8.GetBytes(date));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(region));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(service));
        key = HMACSHA256.HashData(key, "aws4_request"u8);
        var signature = Hex(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
        CryptographicOperations.ZeroMemory(key);
        var authorization = $"{Algorithm} Credential={credentials.AccessKey}/{date}/{region}/{service}/aws4_request, SignedHeaders={signedHeaders}, Signature={signature}";
        return new SigV4Result(canonicalRequest, stringToSign, authorization);
    }

    /// <summary>The canonical request: method, canonical URI, canonical query, canonical headers, signed headers, payload hash.</summary>
    public static string CanonicalRequest(string method, string escapedPath, string canonicalQuery, SortedDictionary<string, string> headers, string payloadHash)
    {
        var builder = new StringBuilder();
        builder.Append(method).Append('\n');
        builder.Append(CanonicalUri(escapedPath)).Append('\n');
        builder.Append(canonicalQuery).Append('\n');
        foreach (var (name, value) in headers)
        {
            builder.Append(name).Append(':').Append(value).Append('\n');
        }

        builder.Append('\n');
        builder.Append(string.Join(";", headers.Keys)).Append('\n');
        builder.Append(payloadHash);
        return builder.ToString();
    }

    /// <summary>The string to sign (the SDK computes the same internally).</summary>
    public static string StringToSign(string amzDate, string region, string service, string canonicalRequest) =>
        $"{Algorithm}\n{amzDate}\n{amzDate[..8]}/{region}/{service}/aws4_request\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";

    /// <summary>
    /// The canonical URI of a non-S3 service: the path as sent (already percent-encoded) with empty and <c>.</c>
    /// segments dropped and <c>..</c> applied (botocore's <c>remove_dot_segments</c>, which also collapses <c>//</c>),
    /// then encoded once more, as botocore does (so <c>%20</c> becomes <c>%2520</c>); <c>/</c> for an empty path.
    /// </summary>
    public static string CanonicalUri(string escapedPath) =>
        escapedPath.Length == 0 ? "/" : Encode(RemoveDotSegments(escapedPath), keepSlash: true);

    /// <summary>botocore's <c>remove_dot_segments</c>: RFC 3986 §5.2.4 plus the removal of empty segments AWS requires.</summary>
    public static string RemoveDotSegments(string path)
    {
        var output = new List<string>();
        foreach (var segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                if (output.Count > 0)
                {
                    output.RemoveAt(output.Count - 1);
                }

                continue;
            }

            output.Add(segment);
        }

        var first = path.StartsWith('/') ? "/" : "";
        var last = path.EndsWith('/') && output.Count > 0 ? "/" : "";
        return first + string.Join('/', output) + last;
    }

    /// <summary>
    /// The canonical query: each name and value decoded (<c>+</c> as a space) and encoded per RFC 3986 (unreserved
    /// characters kept, everything else <c>%XX</c> in upper case, so a space is <c>%20</c> and a plus <c>%2B</c>),
    /// sorted by name then value.
    /// </summary>
    public static string CanonicalQuery(string query) => EncodedQuery(query, sort: true);

    /// <summary>Each parameter decoded and encoded per RFC 3986; sorted for the canonical request, in the caller's order for the wire.</summary>
    private static string EncodedQuery(string query, bool sort)
    {
        if (query.StartsWith('?'))
        {
            query = query[1..];
        }

        if (query.Length == 0)
        {
            return "";
        }

        var pairs = new List<(string Name, string Value)>();
        foreach (var part in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? part : part[..eq];
            var value = eq < 0 ? "" : part[(eq + 1)..];
            pairs.Add((Encode(Decode(name), keepSlash: false), Encode(Decode(value), keepSlash: false)));
        }

        if (sort)
        {
            pairs.Sort(static (a, b) =>
            {
                var byName = string.CompareOrdinal(a.Name, b.Name);
                return byName != 0 ? byName : string.CompareOrdinal(a.Value, b.Value);
            });
        }

        return string.Join("&", pairs.Select(p => p.Name + "=" + p.Value));
    }

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    private static string Decode(string value) => Uri.UnescapeDataString(value.Replace('+', ' '));

    private static string CanonicalHeaderValue(string value)
    {
        var trimmed = value.Trim();
        var builder = new StringBuilder(trimmed.Length);
        var previousSpace = false;
        foreach (var c in trimmed)
        {
            var space = c == ' ';
            if (!(space && previousSpace))
            {
                builder.Append(c);
            }

            previousSpace = space;
        }

        return builder.ToString();
    }

    private static string Encode(string value, bool keepSlash)
    {
        var builder = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~' || (keepSlash && c == '/'))
            {
                builder.Append(c);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }
}
