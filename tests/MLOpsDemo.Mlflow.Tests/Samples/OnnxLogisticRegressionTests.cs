using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLOpsDemo.Samples;

namespace MLOpsDemo.Mlflow.Tests.Samples;

/// <summary>The hand-written ONNX export of samples/TrainAndRegister loads in ONNX Runtime and computes the model.</summary>
public class OnnxLogisticRegressionTests
{
    [Fact]
    public void Onnx_runtime_computes_the_sigmoid_of_the_linear_model()
    {
        var bytes = OnnxLogisticRegression.Write([2.0f, -1.0f], 0.5f);
        InferenceSession session;
        try
        {
            session = new InferenceSession(bytes);
        }
        catch (TypeInitializationException ex) when (ex.InnerException is DllNotFoundException)
        {
            Assert.Skip($"ONNX Runtime's native library does not load on this machine: {ex.InnerException.Message}");
            return;
        }

        using (session)
        {
            Assert.Equal(["input"], session.InputMetadata.Keys);
            Assert.Equal(["probability"], session.OutputMetadata.Keys);
            var input = new DenseTensor<float>(new float[] { 1, 1, 0, 0, -2, 3 }, [3, 2]);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
            var probabilities = results[0].AsTensor<float>();

            double[] expected = [Sigmoid(2 - 1 + 0.5), Sigmoid(0.5), Sigmoid(-4 - 3 + 0.5)];
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.Equal(expected[i], probabilities[i, 0], 5);
            }
        }
    }

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));
}
