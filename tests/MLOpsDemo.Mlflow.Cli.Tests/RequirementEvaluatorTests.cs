using MLOpsDemo.Mlflow.Cli.Gate;

namespace MLOpsDemo.Mlflow.Cli.Tests;

/// <summary>The --require evaluation: the library's filter grammar, evaluated with MLflow's semantics on one run.</summary>
public class RequirementEvaluatorTests
{
    private static readonly Run s_run = new()
    {
        Info = new RunInfo { RunId = "abc123", RunName = "logreg-v3", ExperimentId = "1", Status = RunStatus.Finished, StartTime = 1000, EndTime = 5000, UserId = "ci" },
        Data = new RunData
        {
            Metrics = [new Metric("accuracy", 0.93, 0, 4), new Metric("loss", 0.21, 0, 4)],
            Params = new Dictionary<string, string> { ["dataset"] = "v3", ["model"] = "LogisticRegression" },
            Tags = new Dictionary<string, string> { ["team"] = "fraud" },
        },
        Inputs = new RunInputs
        {
            DatasetInputs = [new DatasetInput { Dataset = new Dataset { Name = "train", Digest = "d1" }, Tags = new Dictionary<string, string> { ["mlflow.data.context"] = "training" } }],
        },
    };

    [Theory]
    [InlineData("metrics.accuracy >= 0.9", true)]
    [InlineData("metrics.accuracy > 0.93", false)]
    [InlineData("metrics.loss < 0.25", true)]
    [InlineData("metrics.missing >= 0", false)]
    [InlineData("params.dataset = 'v3'", true)]
    [InlineData("params.dataset != 'v3'", false)]
    [InlineData("params.model LIKE 'Logistic%'", true)]
    [InlineData("params.model LIKE 'logistic%'", false)]
    [InlineData("params.model ILIKE 'logistic%'", true)]
    [InlineData("params.model LIKE 'Logistic_Regression'", false)]
    [InlineData("params.absent IS NULL", true)]
    [InlineData("tags.team IS NOT NULL", true)]
    [InlineData("tags.team = 'risk'", false)]
    [InlineData("attributes.status = 'FINISHED'", true)]
    [InlineData("attributes.run_name LIKE '%-v3'", true)]
    [InlineData("attributes.run_id IN ('x', 'abc123')", true)]
    [InlineData("attributes.end_time > 4000", true)]
    [InlineData("datasets.context = 'training'", true)]
    [InlineData("datasets.name IN ('eval')", false)]
    public void Evaluates_one_clause(string filter, bool expected)
    {
        var clause = Assert.Single(CommandContext.ParseRunFilter(filter, "--require"));
        var result = RequirementEvaluator.Evaluate(clause, s_run);
        Assert.Equal(expected, result.Passed);
        Assert.Contains(expected ? "passes" : "", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Reports_value_and_threshold_of_each_clause()
    {
        var results = RequirementEvaluator.Evaluate(CommandContext.ParseRunFilter("metrics.accuracy >= 0.95 and params.dataset = 'v3'", "--require"), s_run);
        Assert.Equal([false, true], results.Select(r => r.Passed));
        Assert.Equal(0.93, results[0].Actual);
        Assert.Equal(0.95, results[0].Threshold);
        Assert.Equal("metrics.accuracy >= 0.95", results[0].Expression);
        Assert.Contains("0.93", results[0].Reason, StringComparison.Ordinal);
        Assert.Equal("params.dataset = 'v3'", results[1].Expression);
    }
}
