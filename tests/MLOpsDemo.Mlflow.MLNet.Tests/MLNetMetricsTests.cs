using Microsoft.ML;
using Microsoft.ML.Data;
using static MLOpsDemo.Mlflow.MLNet.Tests.Data;

namespace MLOpsDemo.Mlflow.MLNet.Tests;

/// <summary>Evaluation results of every task → MLflow metric names, values taken from the metrics objects of tiny real trainings.</summary>
public class MLNetMetricsTests
{
    [Fact]
    public void Binary_metrics_use_MLflow_names()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Blobs());
        var metrics = ml.BinaryClassification.Evaluate(BinaryPipeline(ml).Fit(data).Transform(data));

        var mapped = MLNetMetrics.ToMlflowMetrics(metrics, "test_").ToDictionary();

        Assert.Equal(metrics.Accuracy, mapped["test_accuracy"]);
        Assert.Equal(metrics.AreaUnderRocCurve, mapped["test_auc"]);
        Assert.Equal(metrics.F1Score, mapped["test_f1_score"]);
        Assert.Equal(metrics.PositivePrecision, mapped["test_precision"]);
        Assert.Equal(metrics.PositiveRecall, mapped["test_recall"]);
        Assert.Equal(metrics.AreaUnderPrecisionRecallCurve, mapped["test_auprc"]);
        Assert.Equal(metrics.LogLoss, mapped["test_log_loss"]);
        Assert.Equal(11, mapped.Count);
    }

    [Fact]
    public void Multiclass_metrics_use_MLflow_names()
    {
        var ml = new MLContext(seed: 1);
        var rows = Blobs(150).Select((r, i) => new MultiRow { X1 = r.X1 + (i % 3), X2 = r.X2, Label = (i % 3).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        var data = ml.Data.LoadFromEnumerable(rows);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.Concatenate("Features", "X1", "X2"))
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(maximumNumberOfIterations: 10));
        var metrics = ml.MulticlassClassification.Evaluate(pipeline.Fit(data).Transform(data), topKPredictionCount: 2);

        var mapped = MLNetMetrics.ToMlflowMetrics(metrics, "").ToDictionary();

        Assert.Equal(metrics.MicroAccuracy, mapped["accuracy"]);
        Assert.Equal(metrics.MacroAccuracy, mapped["macro_accuracy"]);
        Assert.Equal(metrics.LogLoss, mapped["log_loss"]);
        Assert.Equal(metrics.TopKAccuracy, mapped["top_2_accuracy"]);
        Assert.Equal(metrics.PerClassLogLoss[2], mapped["log_loss_class_2"]);
    }

    [Fact]
    public void Regression_metrics_use_MLflow_names()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Blobs().Select(r => new RegressionRow { X1 = r.X1, X2 = r.X2, Label = (2 * r.X1) - r.X2 }));
        var pipeline = ml.Transforms.Concatenate("Features", "X1", "X2").Append(ml.Regression.Trainers.Sdca(maximumNumberOfIterations: 20));
        var metrics = ml.Regression.Evaluate(pipeline.Fit(data).Transform(data));

        var mapped = MLNetMetrics.ToMlflowMetrics(metrics, "").ToDictionary();

        Assert.Equal(metrics.RootMeanSquaredError, mapped["rmse"]);
        Assert.Equal(metrics.RSquared, mapped["r2"]);
        Assert.Equal(metrics.MeanAbsoluteError, mapped["mae"]);
        Assert.Equal(metrics.MeanSquaredError, mapped["mse"]);
        Assert.True(mapped["r2"] > 0.9, $"r2 {mapped["r2"]}");
    }

    [Fact]
    public void Ranking_metrics_are_ndcg_and_dcg_at_each_k()
    {
        var ml = new MLContext(seed: 1);
        var random = new Random(3);
        var rows = Enumerable.Range(0, 200).Select(i => new RankingRow { GroupId = (uint)(i / 10), X1 = (float)random.NextDouble(), Label = i % 3 }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("GroupId")
            .Append(ml.Transforms.Concatenate("Features", "X1"))
            .Append(ml.Ranking.Trainers.FastTree(new Microsoft.ML.Trainers.FastTree.FastTreeRankingTrainer.Options { NumberOfTrees = 3, NumberOfLeaves = 2, MinimumExampleCountPerLeaf = 5, RowGroupColumnName = "GroupId" }));
        var metrics = ml.Ranking.Evaluate(pipeline.Fit(data).Transform(data), rowGroupColumnName: "GroupId");

        var mapped = MLNetMetrics.ToMlflowMetrics(metrics, "").ToDictionary();

        Assert.Equal(metrics.NormalizedDiscountedCumulativeGains[0], mapped["ndcg_at_1"]);
        Assert.Equal(metrics.DiscountedCumulativeGains[2], mapped["dcg_at_3"]);
        Assert.Equal(2 * metrics.NormalizedDiscountedCumulativeGains.Count, mapped.Count);
    }

    [Fact]
    public void Clustering_metrics_use_stable_names()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Blobs().Select(r => new RegressionRow { X1 = r.X1, X2 = r.X2, Label = r.X1 > 0 ? 1 : 0 }));
        var pipeline = ml.Transforms.Concatenate("Features", "X1", "X2").Append(ml.Clustering.Trainers.KMeans(numberOfClusters: 2));
        var metrics = ml.Clustering.Evaluate(pipeline.Fit(data).Transform(data), labelColumnName: "Label");

        var mapped = MLNetMetrics.ToMlflowMetrics(metrics, "").ToDictionary();

        Assert.Equal(metrics.NormalizedMutualInformation, mapped["nmi"]);
        Assert.Equal(metrics.AverageDistance, mapped["average_distance"]);
        Assert.Equal(metrics.DaviesBouldinIndex, mapped["davies_bouldin_index"]);
    }

    [Fact]
    public void Something_else_is_refused_with_the_types_it_takes()
    {
        var ex = Assert.Throws<ArgumentException>(() => MLNetMetrics.ToMlflowMetrics("accuracy", ""));
        Assert.Contains("BinaryClassification", ex.Message, StringComparison.Ordinal);
    }

    public sealed class MultiRow
    {
        public float X1 { get; set; }

        public float X2 { get; set; }

        public string Label { get; set; } = "";
    }

    public sealed class RegressionRow
    {
        public float X1 { get; set; }

        public float X2 { get; set; }

        public float Label { get; set; }
    }

    public sealed class RankingRow
    {
        public uint GroupId { get; set; }

        public float X1 { get; set; }

        public float Label { get; set; }
    }
}
