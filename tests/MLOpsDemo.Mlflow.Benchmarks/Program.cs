using BenchmarkDotNet.Running;

// dotnet run -c Release --project tests/MLOpsDemo.Mlflow.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(MLOpsDemo.Mlflow.Benchmarks.NoOpMlflowHandler).Assembly).Run(args);
