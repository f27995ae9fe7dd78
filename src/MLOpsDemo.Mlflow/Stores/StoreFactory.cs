namespace MLOpsDemo.Mlflow.Stores;

/// <summary>Creates the stores that are not REST.</summary>
internal static class StoreFactory
{
    public static ITrackingStore CreateSqliteTrackingStore(string uri, MlflowClientOptions options)
    {
        _ = options;
        throw new NotSupportedException($"The local SQLite store ('{uri}') is not available yet. Set MLFLOW_TRACKING_URI to an MLflow server such as http://localhost:5000.");
    }
}
