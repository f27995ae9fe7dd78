using System.Text;
using Microsoft.Extensions.Time.Testing;
using MLOpsDemo.Mlflow.Projects;

namespace MLOpsDemo.Mlflow.Tests.Tracking;

/// <summary>Public members a review found without a test of their own; each assertion fails if the member breaks.</summary>
public sealed class ReviewedSurfaceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reviewed").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Basic_credential_sends_utf8_user_and_password_and_hides_them()
    {
        var credential = MlflowCredential.Basic("jürgen", "p:ss wörd");
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://mlflow.test/");

        await credential.AuthenticateAsync(request, Ct);

        Assert.Equal("Basic", request.Headers.Authorization!.Scheme);
        Assert.Equal("jürgen:p:ss wörd", Encoding.UTF8.GetString(Convert.FromBase64String(request.Headers.Authorization.Parameter!)));
        Assert.DoesNotContain("wörd", credential.ToString(), StringComparison.Ordinal);
        Assert.False(await credential.RefreshAsync(Ct)); // a static credential cannot refresh
        Assert.Throws<ArgumentException>(() => MlflowCredential.Basic("", "x"));
        Assert.Throws<ArgumentNullException>(() => MlflowCredential.Basic("u", null!));
    }

    [Fact]
    public async Task RefreshAsync_of_a_token_provider_fetches_a_new_token_even_before_expiry()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        var calls = 0;
        var credential = MlflowCredential.FromTokenProvider(_ => new ValueTask<MlflowAccessToken>(new MlflowAccessToken("t" + ++calls, time.GetUtcNow().AddHours(1))), timeProvider: time);

        Assert.Equal("Bearer t1", await AuthorizationAsync(credential));
        Assert.Equal("Bearer t1", await AuthorizationAsync(credential));
        Assert.True(await credential.RefreshAsync(Ct));
        Assert.Equal("Bearer t2", await AuthorizationAsync(credential));
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task MlflowModel_GetFlavor_and_SaveAsync_round_trip()
    {
        var model = MlflowModel.Parse("""
            artifact_path: model
            flavors:
              python_function:
                loader_module: mlflow.onnx
                python_version: 3.11.2
              onnx:
                data: model.onnx
                onnx_version: 1.17.0
            model_uuid: 0123456789abcdef0123456789abcdef
            """);

        Assert.Equal("mlflow.onnx", model.GetFlavor("python_function")!.GetString("loader_module"));
        Assert.Equal("model.onnx", model.GetFlavor("onnx")!.GetString("data"));
        Assert.Null(model.GetFlavor("sklearn"));

        var file = await model.SaveAsync(Path.Combine(_dir, "saved"), Ct);
        Assert.Equal(Path.Combine(_dir, "saved", "MLmodel"), file);
        var loaded = await MlflowModel.LoadAsync(Path.Combine(_dir, "saved"), Ct);
        Assert.Equal(["onnx", "python_function"], loaded.Flavors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("1.17.0", loaded.GetFlavor("onnx")!.GetString("onnx_version"));
        Assert.Equal("0123456789abcdef0123456789abcdef", loaded.ModelUuid);
    }

    [Fact]
    public void RenderCommand_matches_mlflow_run()
    {
        // Oracle: MLflow 3.11 load_project('.').get_entry_point('main').compute_command({'alpha': '0.5', 'extra': 'a b'}, None)
        // prints: python train.py --alpha 0.5 --name x --extra 'a b'
        var project = MlProjectLoader.Parse("""
            name: demo
            entry_points:
              main:
                parameters:
                  alpha: {type: float, default: 0.1}
                  name: {type: string, default: "x"}
                command: "python train.py --alpha {alpha} --name {name}"
            """, _dir);

        Assert.Equal("python train.py --alpha 0.5 --name x --extra 'a b'", project.RenderCommand("main", new Dictionary<string, string> { ["alpha"] = "0.5", ["extra"] = "a b" }));
        Assert.Equal("python train.py --alpha 0.1 --name x", project.RenderCommand());
        Assert.Throws<ArgumentException>(() => project.RenderCommand("main", new Dictionary<string, string> { ["alpha"] = "not-a-number" }));
    }

    private static async Task<string?> AuthorizationAsync(MlflowCredential credential)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://mlflow.test/");
        await credential.AuthenticateAsync(request, Ct);
        return request.Headers.Authorization?.ToString();
    }
}
