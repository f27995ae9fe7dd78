using MLOpsDemo.Mlflow.Sqlite;

namespace MLOpsDemo.Mlflow.Tests.Sqlite;

public class SearchFilterTests
{
    public static TheoryData<string, string> RunFilters => new()
    {
        { "metrics.rmse < 1 and params.model = 'lr'", "Metric|rmse|<|1 ; Param|model|=|lr" },
        { "tags.`mlflow.source.type` = 'LOCAL'", "Tag|mlflow.source.type|=|LOCAL" },
        { "tags.mlflow.runName = \"x\"", "Tag|mlflow.runName|=|x" },
        { "attributes.status = 'FINISHED' AND start_time > 1700000000000", "Attribute|status|=|FINISHED ; Attribute|start_time|>|1700000000000" },
        { "run_id IN ('5f0c', '8a1b')", "Attribute|run_id|IN|5f0c,8a1b" },
        { "attr.run_id NOT IN ('a')", "Attribute|run_id|NOT IN|a" },
        { "metrics.`val-loss` >= -0.5", "Metric|val-loss|>=|-0.5" },
        { "metric.\"my key\" != 1e-3", "Metric|my key|!=|0.001" },
        { "params.`a b` LIKE '%x%'", "Param|a b|LIKE|%x%" },
        { "parameters.lr ILIKE 'A%'", "Param|lr|ILIKE|A%" },
        { "`run name` = 'r1'", "Attribute|run_name|=|r1" },
        { "`Run Name` = 'r1'", "Attribute|run_name|=|r1" },
        { "Created >= 5", "Attribute|start_time|>=|5" },
        { "`metrics`.`acc` = 1", "Metric|acc|=|1" },
        { "`params.a b` = 'x'", "Param|a b|=|x" },
        { "params.p IS NULL and tags.t IS NOT NULL", "Param|p|IS NULL| ; Tag|t|IS NOT NULL|" },
        { "datasets.name IN ('a', 'b') and dataset.context = 'training'", "Dataset|name|IN|a,b ; Dataset|context|=|training" },
        { "params.v = 'it''s'", "Param|v|=|it''s" },
        { "params.v = \"it's\"", "Param|v|=|it's" },
        { "run.user_id = 'u' AND end_time<=10", "Attribute|user_id|=|u ; Attribute|end_time|<=|10" },
        { "metrics.a>1", "Metric|a|>|1" },
        { "  ", "" },
    };

    public static TheoryData<string> InvalidRunFilters => new()
    {
        "metrics.a-b > 1",
        "metrics.acc > 1 OR metrics.acc < 0",
        "metrics.acc > '1'",
        "params.lr = 0.1",
        "params.lr > '1'",
        "lifecycle_stage = 'active'",
        "experiment_id = '1'",
        "foo.bar = 'x'",
        "metrics.acc",
        "metrics.acc >",
        "metrics.acc > 1 AND",
        "(metrics.acc > 1)",
        "status IN ('a')",
        "metrics.a IS NULL",
        "params.a = 'unclosed",
        "run_id IN 'a'",
        "metrics. = 1",
    };

    [Theory]
    [MemberData(nameof(RunFilters))]
    public void Run_filters_parse(string filter, string expected)
    {
        var clauses = SearchFilter.Parse(filter, SearchKind.Runs);
        Assert.Equal(expected, string.Join(" ; ", clauses.Select(Describe)));
    }

    [Theory]
    [MemberData(nameof(InvalidRunFilters))]
    public void Invalid_run_filters_are_400_invalid_parameter_value(string filter)
    {
        var ex = Assert.Throws<MlflowException>(() => SearchFilter.Parse(filter, SearchKind.Runs));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, ex.StatusCode);
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, ex.ErrorCode);
    }

    [Theory]
    [InlineData("name LIKE 'prod-%' AND tags.team = 'vision'", "Attribute|name|LIKE|prod-% ; Tag|team|=|vision")]
    [InlineData("attribute.creation_time > 5 and last_update_time <= 7", "Attribute|creation_time|>|5 ; Attribute|last_update_time|<=|7")]
    [InlineData("tag.`x y` IS NOT NULL", "Tag|x y|IS NOT NULL|")]
    public void Experiment_filters_parse(string filter, string expected) =>
        Assert.Equal(expected, string.Join(" ; ", SearchFilter.Parse(filter, SearchKind.Experiments).Select(Describe)));

    [Theory]
    [InlineData("metrics.acc > 1")]
    [InlineData("params.a = 'x'")]
    [InlineData("run_id = 'x'")]
    [InlineData("name IN ('a')")]
    public void Invalid_experiment_filters_are_refused(string filter) =>
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, Assert.Throws<MlflowException>(() => SearchFilter.Parse(filter, SearchKind.Experiments)).ErrorCode);

    [Theory]
    [InlineData("metrics.acc > 0.8 AND params.depth IN ('5', '6')", "Metric|acc|>|0.8 ; Param|depth|IN|5,6")]
    [InlineData("tags.`team x` ILIKE 'R%' and status NOT IN ('READY')", "Tag|team x|ILIKE|R% ; Attribute|status|NOT IN|READY")]
    [InlineData("creation_time > 5 AND last_updated_timestamp <= 7", "Attribute|creation_timestamp|>|5 ; Attribute|last_updated_timestamp|<=|7")]
    [InlineData("attributes.model_type = 'tree' AND source_run_id = 'r'", "Attribute|model_type|=|tree ; Attribute|source_run_id|=|r")]
    public void Logged_model_filters_parse_with_the_shared_grammar(string filter, string expected) =>
        Assert.Equal(expected, string.Join(" ; ", SearchFilter.Parse(filter, SearchKind.LoggedModels).Select(Describe)));

    [Theory]
    [InlineData("owner = 'x'")]
    [InlineData("metrics.acc > '0.5'")]
    [InlineData("metrics.acc LIKE '1%'")]
    [InlineData("name > 3")]
    [InlineData("creation_timestamp = 'yesterday'")]
    [InlineData("tags.t IS NULL")]
    [InlineData("datasets.name = 'd'")]
    [InlineData("name = 'a' OR name = 'b'")]
    public void Invalid_logged_model_filters_are_refused(string filter) =>
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, Assert.Throws<MlflowException>(() => SearchFilter.Parse(filter, SearchKind.LoggedModels)).ErrorCode);

    [Fact]
    public void Order_by_parses_and_refuses_duplicates()
    {
        var order = SearchFilter.ParseOrderBy(["metrics.`val loss` ASC", "start_time desc", "params.lr", "tags.t DESC"], SearchKind.Runs);
        Assert.Equal(
            ["Metric|val loss|True", "Attribute|start_time|False", "Param|lr|True", "Tag|t|False"],
            order.Take(4).Select(o => $"{o.Entity}|{o.Key}|{o.Ascending}"));
        Assert.Throws<MlflowException>(() => SearchFilter.ParseOrderBy(["start_time", "created DESC"], SearchKind.Runs));
        Assert.Throws<MlflowException>(() => SearchFilter.ParseOrderBy(["metrics.a sideways"], SearchKind.Runs));
        Assert.Throws<MlflowException>(() => SearchFilter.ParseOrderBy(["datasets.name"], SearchKind.Runs));
        Assert.Equal("experiment_id", Assert.Single(SearchFilter.ParseOrderBy(["experiment_id DESC"], SearchKind.Experiments)).Key);
        Assert.Throws<MlflowException>(() => SearchFilter.ParseOrderBy(["run_id"], SearchKind.Experiments));
    }

    [Fact]
    public void Random_conjunctions_of_valid_comparisons_round_trip()
    {
        // Property-style: any AND-conjunction of generated comparisons parses back to the same clauses.
        var random = new Random(1234);
        string[] keys = ["acc", "val-loss", "a b", "x.y", "k_1"];
        for (var n = 0; n < 200; n++)
        {
            var count = random.Next(1, 5);
            var parts = new List<string>();
            var expected = new List<string>();
            for (var i = 0; i < count; i++)
            {
                var key = keys[random.Next(keys.Length)];
                var quoted = random.Next(2) == 0 ? $"`{key}`" : $"\"{key}\"";
                if (random.Next(2) == 0)
                {
                    var op = new[] { "=", "!=", "<", "<=", ">", ">=" }[random.Next(6)];
                    var value = Math.Round((random.NextDouble() * 200) - 100, 3);
                    parts.Add($"metrics.{quoted} {op} {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
                    expected.Add($"Metric|{key}|{op}|{value.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
                }
                else
                {
                    var op = new[] { "=", "!=", "LIKE", "ILIKE" }[random.Next(4)];
                    var value = "v" + random.Next(100);
                    parts.Add($"tags.{quoted} {(random.Next(2) == 0 ? op.ToLowerInvariant() : op)} '{value}'");
                    expected.Add($"Tag|{key}|{op}|{value}");
                }
            }

            var filter = string.Join(random.Next(2) == 0 ? " AND " : " and ", parts);
            Assert.Equal(string.Join(" ; ", expected), string.Join(" ; ", SearchFilter.Parse(filter, SearchKind.Runs).Select(Describe)));
        }
    }

    private static string Describe(FilterClause c) =>
        $"{c.Entity}|{c.Key}|{c.Comparator}|" + c.Value switch
        {
            double d => d.ToString(System.Globalization.CultureInfo.InvariantCulture),
            IReadOnlyList<string> list => string.Join(",", list),
            var v => v?.ToString() ?? "",
        };
}
