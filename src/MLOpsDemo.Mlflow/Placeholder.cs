namespace MLOpsDemo.Mlflow;
