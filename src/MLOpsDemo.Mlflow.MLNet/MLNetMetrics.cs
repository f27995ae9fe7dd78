using System.Globalization;
using Microsoft.ML.Data;

namespace MLOpsDemo.Mlflow.MLNet;

/// <summary>
/// Maps ML.NET evaluation results to MLflow metric names (the names MLflow's evaluators and autologging use:
/// <c>accuracy</c>, <c>auc</c>, <c>f1_score</c>, <c>rmse</c>, <c>r2</c>…).
/// </summary>
public static class MLNetMetrics
{
    /// <summary>
    /// The metrics of an evaluation result: <see cref="BinaryClassificationMetrics"/> (and the calibrated kind),
    /// <see cref="MulticlassClassificationMetrics"/>, <see cref="RegressionMetrics"/>, <see cref="RankingMetrics"/> or
    /// <see cref="ClusteringMetrics"/>. The README lists every name.
    /// </summary>
    /// <param name="metrics">The object returned by <c>mlContext.&lt;Task&gt;.Evaluate</c>.</param>
    /// <param name="prefix">Put before every name (e.g. <c>test_</c>); empty for none.</param>
    /// <returns>Name/value pairs in a fixed order.</returns>
    /// <exception cref="ArgumentException">The object is not one of these metrics types.</exception>
    public static IReadOnlyList<KeyValuePair<string, double>> ToMlflowMetrics(object metrics, string prefix)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(prefix);
        var list = new List<KeyValuePair<string, double>>();
        void Add(string name, double value) => list.Add(new(prefix + name, value));

        switch (metrics)
        {
            case BinaryClassificationMetrics binary:
                Add("accuracy", binary.Accuracy);
                Add("auc", binary.AreaUnderRocCurve);
                Add("auprc", binary.AreaUnderPrecisionRecallCurve);
                Add("f1_score", binary.F1Score);
                Add("precision", binary.PositivePrecision);
                Add("recall", binary.PositiveRecall);
                Add("negative_precision", binary.NegativePrecision);
                Add("negative_recall", binary.NegativeRecall);
                if (binary is CalibratedBinaryClassificationMetrics calibrated)
                {
                    Add("log_loss", calibrated.LogLoss);
                    Add("log_loss_reduction", calibrated.LogLossReduction);
                    Add("entropy", calibrated.Entropy);
                }

                break;
            case MulticlassClassificationMetrics multiclass:
                Add("accuracy", multiclass.MicroAccuracy);
                Add("micro_accuracy", multiclass.MicroAccuracy);
                Add("macro_accuracy", multiclass.MacroAccuracy);
                Add("log_loss", multiclass.LogLoss);
                Add("log_loss_reduction", multiclass.LogLossReduction);
                if (multiclass.TopKPredictionCount > 0)
                {
                    Add(string.Create(CultureInfo.InvariantCulture, $"top_{multiclass.TopKPredictionCount}_accuracy"), multiclass.TopKAccuracy);
                }

                for (var i = 0; i < multiclass.PerClassLogLoss.Count; i++)
                {
                    Add(string.Create(CultureInfo.InvariantCulture, $"log_loss_class_{i}"), multiclass.PerClassLogLoss[i]);
                }

                break;
            case RegressionMetrics regression:
                Add("mae", regression.MeanAbsoluteError);
                Add("mse", regression.MeanSquaredError);
                Add("rmse", regression.RootMeanSquaredError);
                Add("r2", regression.RSquared);
                Add("loss", regression.LossFunction);
                break;
            case RankingMetrics ranking:
                for (var i = 0; i < ranking.NormalizedDiscountedCumulativeGains.Count; i++)
                {
                    Add(string.Create(CultureInfo.InvariantCulture, $"ndcg_at_{i + 1}"), ranking.NormalizedDiscountedCumulativeGains[i]);
                }

                for (var i = 0; i < ranking.DiscountedCumulativeGains.Count; i++)
                {
                    Add(string.Create(CultureInfo.InvariantCulture, $"dcg_at_{i + 1}"), ranking.DiscountedCumulativeGains[i]);
                }

                break;
            case ClusteringMetrics clustering:
                Add("nmi", clustering.NormalizedMutualInformation);
                Add("average_distance", clustering.AverageDistance);
                Add("davies_bouldin_index", clustering.DaviesBouldinIndex);
                break;
            default:
                throw new ArgumentException(
                    $"{metrics.GetType().Name} is not an ML.NET evaluation result this library maps; pass the object returned by mlContext.BinaryClassification/MulticlassClassification/Regression/Ranking/Clustering.Evaluate.",
                    nameof(metrics));
        }

        return list;
    }
}
