using Microsoft.ML;
using static MLOpsDemo.Mlflow.MLNet.Tests.Data;

namespace MLOpsDemo.Mlflow.MLNet.Tests;

public class EstimatorParamsTests
{
    [Fact]
    public void The_chain_steps_and_their_settings_become_sklearn_style_params()
    {
        var ml = new MLContext(seed: 1);
        var pipeline = ml.Transforms.Concatenate("Features", "X1", "X2")
            .Append(ml.Transforms.NormalizeMinMax("Features"))
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(labelColumnName: "Label", l2Regularization: 0.25f, maximumNumberOfIterations: 7));

        var values = EstimatorParams.Read(pipeline).ToDictionary();

        Assert.Equal("columnconcatenatingestimator, normalizingestimator, sdcalogisticregressionbinarytrainer", values["pipeline_steps"]);
        Assert.Equal("SdcaLogisticRegressionBinaryTrainer", values["estimator"]);
        Assert.Equal("Features", values["columnconcatenatingestimator__name"]);
        Assert.Equal("X1, X2", values["columnconcatenatingestimator__source"]);
        Assert.Equal("0.25", values["sdcalogisticregressionbinarytrainer__l2_regularization"]);
        Assert.Equal("7", values["sdcalogisticregressionbinarytrainer__maximum_number_of_iterations"]);
        Assert.Equal("Label", values["sdcalogisticregressionbinarytrainer__label_column_name"]);
        Assert.Equal("None", values["sdcalogisticregressionbinarytrainer__l1_regularization"]);
    }

    [Fact]
    public void A_single_estimator_is_a_one_step_pipeline()
    {
        var ml = new MLContext();
        var values = EstimatorParams.Read(ml.BinaryClassification.Trainers.FastTree(numberOfLeaves: 4, numberOfTrees: 3)).ToDictionary();

        Assert.Equal("fasttreebinarytrainer", values["pipeline_steps"]);
        Assert.Equal("4", values["fasttreebinarytrainer__number_of_leaves"]);
        Assert.Equal("3", values["fasttreebinarytrainer__number_of_trees"]);
    }

    [Theory]
    [InlineData("L2Regularization", "l2_regularization")]
    [InlineData("_numberOfIterations", "number_of_iterations")]
    [InlineData("<Info>k__BackingField", "info")]
    [InlineData("NumberOfLeaves", "number_of_leaves")]
    [InlineData("FeatureColumnName", "feature_column_name")]
    public void Member_names_become_snake_case(string member, string expected) => Assert.Equal(expected, EstimatorParams.Snake(member));
}
