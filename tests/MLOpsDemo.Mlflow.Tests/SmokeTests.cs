namespace MLOpsDemo.Mlflow.Tests; public class SmokeTests { [Fact] public void Works() => Assert.True(1 + 1 == 2); }
