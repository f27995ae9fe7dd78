using System.Globalization;
using Microsoft.Data.Sqlite;
using MLOpsDemo.Mlflow.Registry;

namespace MLOpsDemo.Mlflow.Sqlite;

/// <summary>
/// The model registry in the same <c>mlflow.db</c>, written as MLflow's registry SQL store writes it (SQLSTORE.md §6.9):
/// version numbers never reused, soft-deleted versions (<c>Deleted_Internal</c>) hidden from every read, aliases and
/// tags in their own tables, stage transitions with archiving. Errors carry the REST server's codes.
/// </summary>
internal sealed partial class SqliteTrackingStore : IRegistryStore
{
    private const string DeletedInternal = "Deleted_Internal";
    private const string PromptTag = "mlflow.prompt.is_prompt";

    public Task<RegisteredModel> CreateRegisteredModelAsync(string name, IReadOnlyDictionary<string, string>? tags, string? description, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                if (Scalar("SELECT 1 FROM registered_models WHERE name = $name", ("$name", name)) is not null)
                {
                    throw AlreadyExists($"Registered Model (name={name}) already exists.");
                }

                var now = Now();
                Execute("INSERT INTO registered_models (name, creation_time, last_updated_time, description) VALUES ($name, $now, $now, $description)", ("$name", name), ("$now", now), ("$description", description));
                foreach (var tag in tags ?? EmptyDictionary)
                {
                    Execute("INSERT INTO registered_model_tags (key, value, name) VALUES ($key, $value, $name)", ("$key", tag.Key), ("$value", tag.Value), ("$name", name));
                }

                return ReadRegisteredModel(name);
            },
            cancellationToken);

    public Task<RegisteredModel> GetRegisteredModelAsync(string name, CancellationToken cancellationToken) =>
        RunAsync(_ => ReadRegisteredModel(name), cancellationToken);

    public Task<RegisteredModel> RenameRegisteredModelAsync(string name, string newName, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireRegisteredModel(name);
                if (Scalar("SELECT 1 FROM registered_models WHERE name = $name", ("$name", newName)) is not null)
                {
                    throw AlreadyExists($"Registered Model (name={newName}) already exists.");
                }

                // Tags, versions and aliases follow through ON UPDATE CASCADE (foreign keys are on).
                var now = Now();
                Execute("UPDATE registered_models SET name = $new, last_updated_time = $now WHERE name = $name", ("$new", newName), ("$now", now), ("$name", name));
                Execute("UPDATE model_versions SET last_updated_time = $now WHERE name = $new", ("$now", now), ("$new", newName));
                return ReadRegisteredModel(newName);
            },
            cancellationToken);

    public Task<RegisteredModel> UpdateRegisteredModelAsync(string name, string? description, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireRegisteredModel(name);
                Execute("UPDATE registered_models SET description = $description, last_updated_time = $now WHERE name = $name", ("$description", description), ("$now", Now()), ("$name", name));
                return ReadRegisteredModel(name);
            },
            cancellationToken);

    public Task DeleteRegisteredModelAsync(string name, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireRegisteredModel(name);
                Execute("DELETE FROM model_version_tags WHERE name = $name", ("$name", name));
                if (Schema.Supports(SqliteFeature.Aliases))
                {
                    Execute("DELETE FROM registered_model_aliases WHERE name = $name", ("$name", name));
                }

                Execute("DELETE FROM model_versions WHERE name = $name", ("$name", name));
                Execute("DELETE FROM registered_model_tags WHERE name = $name", ("$name", name));
                Execute("DELETE FROM registered_models WHERE name = $name", ("$name", name));
            },
            cancellationToken);

    public Task<MlflowPage<RegisteredModel>> SearchRegisteredModelsAsync(string? filter, IReadOnlyList<string>? orderBy, int maxResults, string? pageToken, CancellationToken cancellationToken)
    {
        var where = RegistryFilter.ToSql(filter, forVersions: false, alias: "m", out var parameters);
        if (filter is null || !filter.Contains(PromptTag, StringComparison.Ordinal))
        {
            where += $" AND NOT EXISTS (SELECT 1 FROM registered_model_tags p WHERE p.name = m.name AND p.key = '{PromptTag}' AND LOWER(p.value) = 'true')";
        }

        var order = RegistryFilter.OrderSql(orderBy, forVersions: false, alias: "m");
        var offset = PageToken.Decode(pageToken);
        return RunAsync(
            _ =>
            {
                var names = Query($"SELECT m.name FROM registered_models m WHERE {where} ORDER BY {order} LIMIT $limit OFFSET $offset", r => r.GetString(0), [.. parameters, ("$limit", maxResults + 1), ("$offset", offset)]);
                var items = names.Take(maxResults).Select(ReadRegisteredModel).ToList();
                return new MlflowPage<RegisteredModel>(items, names.Count > maxResults ? PageToken.Encode(offset + maxResults) : null);
            },
            cancellationToken);
    }

    public Task SetRegisteredModelTagAsync(string name, string key, string value, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireRegisteredModel(name);
                Execute("INSERT INTO registered_model_tags (key, value, name) VALUES ($key, $value, $name) ON CONFLICT DO UPDATE SET value = excluded.value", ("$key", key), ("$value", value), ("$name", name));
            },
            cancellationToken);

    public Task DeleteRegisteredModelTagAsync(string name, string key, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireRegisteredModel(name);
                Execute("DELETE FROM registered_model_tags WHERE name = $name AND key = $key", ("$name", name), ("$key", key));
            },
            cancellationToken);

    public Task<IReadOnlyList<ModelVersion>> GetLatestVersionsAsync(string name, IReadOnlyList<string> stages, CancellationToken cancellationToken) =>
        RunAsync(
            _ =>
            {
                RequireRegisteredModel(name);
                var wanted = stages.Select(CanonicalStage).ToHashSet(StringComparer.Ordinal);
                return (IReadOnlyList<ModelVersion>)LatestVersions(name).Where(v => wanted.Count == 0 || wanted.Contains(v.CurrentStage)).ToList();
            },
            cancellationToken);

    public Task<ModelVersion> CreateModelVersionAsync(string name, string source, CreateModelVersionOptions options, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireRegisteredModel(name);
                var storage = source;
                var runId = options.RunId;
                if (Schema.HasStorageLocation && source.StartsWith("models:/", StringComparison.Ordinal))
                {
                    var reference = source["models:/".Length..];
                    var parts = reference.Split('/');
                    if (parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var referencedVersion))
                    {
                        storage = Scalar("SELECT storage_location FROM model_versions WHERE name = $n AND version = $v AND current_stage <> $deleted", ("$n", parts[0]), ("$v", referencedVersion), ("$deleted", DeletedInternal)) as string ?? source;
                    }
                    else if (parts.Length == 1 && Schema.Supports(SqliteFeature.LoggedModels) && Scalar("SELECT artifact_location FROM logged_models WHERE model_id = $id", ("$id", parts[0])) is string location)
                    {
                        storage = location;
                        runId ??= Scalar("SELECT source_run_id FROM logged_models WHERE model_id = $id", ("$id", parts[0])) as string;
                    }
                }

                foreach (var tag in options.Tags ?? EmptyDictionary)
                {
                    CheckRegistryTagLength(tag.Key, tag.Value);
                }

                var version = Convert.ToInt64(Scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name = $name", ("$name", name)), CultureInfo.InvariantCulture);
                var now = Now();

                // storage_location exists from MLflow 2.8 on; older releases write the same row without it.
                var withStorage = Schema.HasStorageLocation;
                Execute(
                    "INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, user_id, current_stage, source, run_id, status, status_message, run_link" + (withStorage ? ", storage_location) " : ") ") +
                    "VALUES ($name, $version, $now, $now, $description, NULL, 'None', $source, $run, 'READY', NULL, $link" + (withStorage ? ", $storage)" : ")"),
                    ("$name", name), ("$version", version), ("$now", now), ("$description", options.Description), ("$source", source), ("$run", runId), ("$link", options.RunLink), ("$storage", storage));
                foreach (var tag in options.Tags ?? EmptyDictionary)
                {
                    Execute("INSERT INTO model_version_tags (key, value, name, version) VALUES ($key, $value, $name, $version)", ("$key", tag.Key), ("$value", tag.Value), ("$name", name), ("$version", version));
                }

                Execute("UPDATE registered_models SET last_updated_time = $now WHERE name = $name", ("$now", now), ("$name", name));
                return ReadModelVersion(name, version);
            },
            cancellationToken);

    public Task<ModelVersion> GetModelVersionAsync(string name, string version, CancellationToken cancellationToken) =>
        RunAsync(_ => ReadModelVersion(name, ParseVersion(version)), cancellationToken);

    public Task<ModelVersion> UpdateModelVersionAsync(string name, string version, string? description, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                var number = ParseVersion(version);
                RequireModelVersion(name, number);
                if (description is not null)
                {
                    Execute("UPDATE model_versions SET description = $d, last_updated_time = $now WHERE name = $name AND version = $v", ("$d", description), ("$now", Now()), ("$name", name), ("$v", number));
                }

                return ReadModelVersion(name, number);
            },
            cancellationToken);

    public Task DeleteModelVersionAsync(string name, string version, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                var number = ParseVersion(version);
                RequireModelVersion(name, number);
                var now = Now();
                if (Schema.Supports(SqliteFeature.Aliases))
                {
                    Execute("DELETE FROM registered_model_aliases WHERE name = $name AND version = $v", ("$name", name), ("$v", number));
                }

                Execute(
                    "UPDATE model_versions SET current_stage = $deleted, description = NULL, user_id = NULL, status_message = NULL, source = 'REDACTED-SOURCE-PATH', run_id = 'REDACTED-RUN-ID', run_link = 'REDACTED-RUN-LINK', last_updated_time = $now WHERE name = $name AND version = $v",
                    ("$deleted", DeletedInternal), ("$now", now), ("$name", name), ("$v", number));
                Execute("UPDATE registered_models SET last_updated_time = $now WHERE name = $name", ("$now", now), ("$name", name));
            },
            cancellationToken);

    public Task<MlflowPage<ModelVersion>> SearchModelVersionsAsync(string? filter, IReadOnlyList<string>? orderBy, int maxResults, string? pageToken, CancellationToken cancellationToken)
    {
        var where = RegistryFilter.ToSql(filter, forVersions: true, alias: "v", out var parameters);
        if (filter is null || !filter.Contains(PromptTag, StringComparison.Ordinal))
        {
            where += $" AND NOT EXISTS (SELECT 1 FROM registered_model_tags p WHERE p.name = v.name AND p.key = '{PromptTag}' AND LOWER(p.value) = 'true')";
        }

        var order = RegistryFilter.OrderSql(orderBy, forVersions: true, alias: "v");
        var offset = PageToken.Decode(pageToken);
        return RunAsync(
            _ =>
            {
                var keys = Query(
                    $"SELECT v.name, v.version FROM model_versions v WHERE v.current_stage <> '{DeletedInternal}' AND {where} ORDER BY {order} LIMIT $limit OFFSET $offset",
                    r => (r.GetString(0), r.GetInt64(1)),
                    [.. parameters, ("$limit", maxResults + 1), ("$offset", offset)]);
                var items = keys.Take(maxResults).Select(k => ReadModelVersion(k.Item1, k.Item2)).ToList();
                return new MlflowPage<ModelVersion>(items, keys.Count > maxResults ? PageToken.Encode(offset + maxResults) : null);
            },
            cancellationToken);
    }

    public Task<string> GetModelVersionDownloadUriAsync(string name, string version, CancellationToken cancellationToken) =>
        RunAsync(
            _ =>
            {
                var number = ParseVersion(version);
                RequireModelVersion(name, number);
                return Scalar($"SELECT {StorageColumn} FROM model_versions WHERE name = $name AND version = $v", ("$name", name), ("$v", number)) as string ?? "";
            },
            cancellationToken);

    public Task SetModelVersionTagAsync(string name, string version, string key, string value, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                var number = ParseVersion(version);
                RequireModelVersion(name, number);
                CheckRegistryTagLength(key, value);
                Execute("INSERT INTO model_version_tags (key, value, name, version) VALUES ($key, $value, $name, $v) ON CONFLICT DO UPDATE SET value = excluded.value", ("$key", key), ("$value", value), ("$name", name), ("$v", number));
            },
            cancellationToken);

    public Task DeleteModelVersionTagAsync(string name, string version, string key, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                var number = ParseVersion(version);
                RequireModelVersion(name, number);
                Execute("DELETE FROM model_version_tags WHERE name = $name AND version = $v AND key = $key", ("$name", name), ("$v", number), ("$key", key));
            },
            cancellationToken);

    public Task<ModelVersion> TransitionModelVersionStageAsync(string name, string version, string stage, bool archiveExistingVersions, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                var number = ParseVersion(version);
                var canonical = CanonicalStage(stage);
                if (archiveExistingVersions && canonical is not (ModelVersionStage.Staging or ModelVersionStage.Production))
                {
                    throw new MlflowException(System.Net.HttpStatusCode.InternalServerError, MlflowErrorCodes.InternalError, $"Model version transition cannot archive existing model versions because '{canonical}' is not an Active stage. Valid stages are Staging and Production.");
                }

                RequireModelVersion(name, number);
                var now = Now();
                if (archiveExistingVersions)
                {
                    Execute(
                        "UPDATE model_versions SET current_stage = 'Archived', last_updated_time = $now WHERE name = $name AND version <> $v AND current_stage = $stage",
                        ("$now", now), ("$name", name), ("$v", number), ("$stage", canonical));
                }

                Execute("UPDATE model_versions SET current_stage = $stage, last_updated_time = $now WHERE name = $name AND version = $v", ("$stage", canonical), ("$now", now), ("$name", name), ("$v", number));
                Execute("UPDATE registered_models SET last_updated_time = $now WHERE name = $name", ("$now", now), ("$name", name));
                return ReadModelVersion(name, number);
            },
            cancellationToken);

    public Task SetAliasAsync(string name, string alias, string version, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                Require(SqliteFeature.Aliases, "Setting a registered model alias");
                var number = ParseVersion(version);
                RequireModelVersion(name, number);
                Execute("INSERT INTO registered_model_aliases (alias, version, name) VALUES ($alias, $v, $name) ON CONFLICT DO UPDATE SET version = excluded.version", ("$alias", alias), ("$v", number), ("$name", name));
            },
            cancellationToken);

    public Task DeleteAliasAsync(string name, string alias, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                Require(SqliteFeature.Aliases, "Deleting a registered model alias");
                RequireRegisteredModel(name);
                Execute("DELETE FROM registered_model_aliases WHERE name = $name AND alias = $alias", ("$name", name), ("$alias", alias));
            },
            cancellationToken);

    public Task<ModelVersion> GetModelVersionByAliasAsync(string name, string alias, CancellationToken cancellationToken) =>
        RunAsync(
            _ =>
            {
                RequireRegisteredModel(name);
                if (string.Equals(alias, "latest", StringComparison.OrdinalIgnoreCase))
                {
                    var latest = Scalar($"SELECT MAX(version) FROM model_versions WHERE name = $name AND current_stage <> '{DeletedInternal}'", ("$name", name));
                    if (latest is long highest)
                    {
                        return ReadModelVersion(name, highest);
                    }
                }

                Require(SqliteFeature.Aliases, "Reading a model version by alias");
                var version = Scalar("SELECT version FROM registered_model_aliases WHERE name = $name AND alias = $alias", ("$name", name), ("$alias", alias));
                if (version is not long number)
                {
                    // The real server answers a missing alias with 400 INVALID_PARAMETER_VALUE, not 404.
                    throw InvalidParameter($"Registered model alias {alias} not found.");
                }

                return ReadModelVersion(name, number);
            },
            cancellationToken);

    public Task LogModelHistoryAsync(string runId, string modelJson, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireActiveRun(runId);
                var existing = Scalar("SELECT value FROM tags WHERE run_uuid = $run AND key = 'mlflow.log-model.history'", ("$run", runId)) as string;
                // Python's json.dumps form, as MLflow's SQL store writes it (and Python MLflow expects to find it).
                UpsertRunTag(runId, "mlflow.log-model.history", ModelsClient.AppendHistoryEntry(existing, modelJson));
            },
            cancellationToken);

    /// <summary>Where a version's files are: <c>storage_location</c> (MLflow 2.8+) falling back to <c>source</c>.</summary>
    private string StorageColumn => Schema.HasStorageLocation ? "COALESCE(storage_location, source)" : "source";

    private void CheckRegistryTagLength(string key, string value) => CheckLength("model_version_tags", "value", value, $"Model version tag '{key}'", "3.2");

    private static readonly IReadOnlyDictionary<string, string> EmptyDictionary = new Dictionary<string, string>();

    private static MlflowException AlreadyExists(string message) => new(System.Net.HttpStatusCode.BadRequest, MlflowErrorCodes.ResourceAlreadyExists, message);

    private static long ParseVersion(string version) =>
        long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw InvalidParameter($"Parameter 'version' must be an integer, got '{version}'.");

    private static string CanonicalStage(string stage) => stage.ToUpperInvariant() switch
    {
        "NONE" => ModelVersionStage.None,
        "STAGING" => ModelVersionStage.Staging,
        "PRODUCTION" => ModelVersionStage.Production,
        "ARCHIVED" => ModelVersionStage.Archived,
        _ => throw InvalidParameter($"Invalid Model Version stage: {stage}. Value must be one of None, Staging, Production, Archived."),
    };

    private void RequireRegisteredModel(string name)
    {
        if (Scalar("SELECT 1 FROM registered_models WHERE name = $name", ("$name", name)) is null)
        {
            throw NotFound($"Registered Model with name={name} not found");
        }
    }

    private void RequireModelVersion(string name, long version)
    {
        if (Scalar($"SELECT 1 FROM model_versions WHERE name = $name AND version = $v AND current_stage <> '{DeletedInternal}'", ("$name", name), ("$v", version)) is null)
        {
            throw NotFound($"Model Version (name={name}, version={version}) not found");
        }
    }

    private RegisteredModel ReadRegisteredModel(string name)
    {
        var row = Query("SELECT name, creation_time, last_updated_time, description FROM registered_models WHERE name = $name", r => (Name: r.GetString(0), Created: GetInt64(r, 1), Updated: GetInt64(r, 2), Description: GetString(r, 3)), ("$name", name));
        if (row.Count == 0)
        {
            throw NotFound($"Registered Model with name={name} not found");
        }

        var (modelName, created, updated, description) = row[0];
        return new RegisteredModel
        {
            Name = modelName,
            CreationTimestamp = created,
            LastUpdatedTimestamp = updated,
            Description = string.IsNullOrEmpty(description) ? null : description,
            LatestVersions = LatestVersions(modelName),
            Tags = Query("SELECT key, value FROM registered_model_tags WHERE name = $name ORDER BY key", r => KeyValuePair.Create(r.GetString(0), GetString(r, 1) ?? ""), ("$name", modelName)).ToDictionary(StringComparer.Ordinal),
            Aliases = !Schema.Supports(SqliteFeature.Aliases) ? [] : Query("SELECT alias, version FROM registered_model_aliases WHERE name = $name ORDER BY alias", r => new RegisteredModelAlias { Alias = r.GetString(0), Version = r.GetInt64(1).ToString(CultureInfo.InvariantCulture) }, ("$name", modelName)),
        };
    }

    private List<ModelVersion> LatestVersions(string name) =>
        Query(
            $"SELECT MAX(version) FROM model_versions WHERE name = $name AND current_stage <> '{DeletedInternal}' GROUP BY current_stage ORDER BY MAX(version)",
            r => r.GetInt64(0),
            ("$name", name))
        .Select(v => ReadModelVersion(name, v))
        .ToList();

    private ModelVersion ReadModelVersion(string name, long version)
    {
        var rows = Query(
            $"SELECT name, version, creation_time, last_updated_time, description, user_id, current_stage, source, run_id, status, status_message, run_link FROM model_versions WHERE name = $name AND version = $v AND current_stage <> '{DeletedInternal}'",
            r => new ModelVersion
            {
                Name = r.GetString(0),
                Version = r.GetInt64(1).ToString(CultureInfo.InvariantCulture),
                CreationTimestamp = GetInt64(r, 2),
                LastUpdatedTimestamp = GetInt64(r, 3),
                Description = GetString(r, 4),
                UserId = GetString(r, 5),
                CurrentStage = GetString(r, 6) ?? ModelVersionStage.None,
                Source = GetString(r, 7),
                RunId = GetString(r, 8),
                Status = GetString(r, 9),
                StatusMessage = GetString(r, 10),
                RunLink = GetString(r, 11),
            },
            ("$name", name),
            ("$v", version));
        if (rows.Count == 0)
        {
            throw NotFound($"Model Version (name={name}, version={version}) not found");
        }

        return rows[0] with
        {
            Tags = Query("SELECT key, value FROM model_version_tags WHERE name = $name AND version = $v ORDER BY key", r => KeyValuePair.Create(r.GetString(0), GetString(r, 1) ?? ""), ("$name", name), ("$v", version)).ToDictionary(StringComparer.Ordinal),
            Aliases = !Schema.Supports(SqliteFeature.Aliases) ? [] : Query("SELECT alias FROM registered_model_aliases WHERE name = $name AND version = $v ORDER BY alias", r => r.GetString(0), ("$name", name), ("$v", version)),
        };
    }
}

/// <summary>
/// Registry searches on SQLite (LIMITS.md §9.4–9.5): the filter and order_by are parsed by the shared
/// <see cref="SearchFilter"/> grammar; this class only turns the parsed clauses into SQL.
/// </summary>
internal static class RegistryFilter
{
    public static string ToSql(string? filter, bool forVersions, string alias, out List<(string Name, object? Value)> parameters)
    {
        parameters = [];
        var clauses = SearchFilter.Parse(filter, forVersions ? SearchKind.ModelVersions : SearchKind.RegisteredModels);
        if (clauses.Count == 0)
        {
            return "1 = 1";
        }

        var sql = new List<string>();
        foreach (var clause in clauses)
        {
            var p = "$f" + parameters.Count.ToString(CultureInfo.InvariantCulture);
            string column;
            if (clause.Entity == SearchEntity.Tag)
            {
                var table = forVersions ? "model_version_tags" : "registered_model_tags";
                var join = forVersions ? $"t.name = {alias}.name AND t.version = {alias}.version" : $"t.name = {alias}.name";
                parameters.Add((p + "k", clause.Key));
                column = $"(SELECT t.value FROM {table} t WHERE {join} AND t.key = {p}k)";
            }
            else
            {
                column = clause.Key switch
                {
                    "version_number" => $"{alias}.version",
                    "run_id" => $"{alias}.run_id",
                    "source_path" => $"{alias}.source",
                    "current_stage" => $"{alias}.current_stage",
                    _ => $"{alias}.name",
                };
            }

            sql.Add(Render(column, clause.Comparator, clause.Value, p, parameters));
        }

        return string.Join(" AND ", sql);
    }

    public static string OrderSql(IReadOnlyList<string>? orderBy, bool forVersions, string alias)
    {
        var parts = new List<string>();
        foreach (var clause in SearchFilter.ParseOrderBy(orderBy, forVersions ? SearchKind.ModelVersions : SearchKind.RegisteredModels))
        {
            if (clause.Entity != SearchEntity.Attribute)
            {
                throw SqliteTrackingStore.InvalidParameter($"Invalid order_by key '{clause.Key}': registry searches order by name, creation_timestamp or last_updated_timestamp{(forVersions ? " or version_number" : "")}.");
            }

            var column = clause.Key switch
            {
                "creation_timestamp" => $"{alias}.creation_time",
                "last_updated_timestamp" or "timestamp" => $"{alias}.last_updated_time",
                "version_number" => $"{alias}.version",
                _ => $"{alias}.name",
            };
            parts.Add(column + (clause.Ascending ? " ASC" : " DESC"));
        }

        if (forVersions && parts.Count == 0)
        {
            // MLflow's default for model versions: last_updated_timestamp DESC, name ASC, version_number DESC.
            parts.Add($"{alias}.last_updated_time DESC");
        }

        parts.Add($"{alias}.name ASC");
        if (forVersions)
        {
            parts.Add($"{alias}.version DESC");
        }

        return string.Join(", ", parts);
    }

    private static string Render(string column, string op, object? value, string p, List<(string Name, object? Value)> parameters)
    {
        switch (op)
        {
            case "=" or "!=" or "<" or "<=" or ">" or ">=":
                parameters.Add((p, value));
                return $"{column} {op} {p}";
            case "LIKE":
                parameters.Add((p, value));
                return $"{column} LIKE {p}";
            case "ILIKE":
                parameters.Add((p, value is string s ? s.ToLowerInvariant() : value));
                return $"LOWER({column}) LIKE {p}";
            case "IS NULL" or "IS NOT NULL":
                return $"{column} {op}";
            case "IN" or "NOT IN":
                var names = new List<string>();
                foreach (var item in (IEnumerable<string>)value!)
                {
                    var name = p + "_" + names.Count.ToString(CultureInfo.InvariantCulture);
                    parameters.Add((name, item));
                    names.Add(name);
                }

                return $"{column} {op} ({string.Join(", ", names)})";
            default:
                throw SqliteTrackingStore.InvalidParameter($"Invalid comparator '{op}'.");
        }
    }
}
