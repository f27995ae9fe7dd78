namespace MLOpsDemo.Mlflow.IntegrationTests; public class SmokeTests { [Fact] public void Works() => Assert.Skip("Docker not available"); }
