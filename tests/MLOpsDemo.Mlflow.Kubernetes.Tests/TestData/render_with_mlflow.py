# Renders the job templates in this folder with MLflow's own kubernetes.py functions (MLflow 3.11) and prints the
# expected Job JSON. Run once by hand (see README.md); the tests only read the JSON it wrote.
import datetime as _dt, json, os, sys, types
# kubernetes.py imports the docker and kubernetes packages at module level; the rendering functions use neither.
sys.modules.setdefault("docker", types.ModuleType("docker"))
k8s = types.ModuleType("kubernetes"); cfg = types.ModuleType("kubernetes.config"); exc = types.ModuleType("kubernetes.config.config_exception")
exc.ConfigException = type("ConfigException", (Exception,), {}); k8s.config = cfg; cfg.config_exception = exc
sys.modules.update({"kubernetes": k8s, "kubernetes.config": cfg, "kubernetes.config.config_exception": exc})
import mlflow
from mlflow.projects import kubernetes as kb, _parse_kubernetes_config

class FixedDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2026, 12, 3, 9, 17, 27, 123456)
kb.datetime = FixedDatetime

here = os.path.dirname(os.path.abspath(__file__))
cases = [
    {"id": "basic", "template": "job-template-basic.yaml", "project": "dotnet-train",
     "image": "registry.example.com/dotnet-train:abc1234", "digest": "sha256:" + "a" * 64,
     "command": "dotnet run --project . -- --alpha 0.5 --epochs 5",
     "env": {"MLFLOW_RUN_ID": "0123456789abcdef0123456789abcdef", "MLFLOW_TRACKING_URI": "http://mlflow.mlflow.svc:5000", "MLFLOW_EXPERIMENT_ID": "7"},
     "kube_uri": None},
    {"id": "sidecar", "template": "job-template-sidecar.yaml", "project": "quoting",
     "image": "registry.example.com/quoting", "digest": "sha256:" + "b" * 64,
     "command": "python train.py --name 'it'\"'\"'s me; rm -rf /' --x 'a b' --n 3",
     "env": {"MLFLOW_RUN_ID": "fedcba9876543210fedcba9876543210", "MLFLOW_TRACKING_URI": "sqlite:////home/me/mlflow.db", "MLFLOW_EXPERIMENT_ID": "0"},
     "kube_uri": "http://tracking.internal:5000"},
]
out = {"mlflow_version": mlflow.__version__, "now": "2026-12-03T09:17:27.123456", "cases": []}
for case in cases:
    if case["kube_uri"]:
        os.environ["KUBE_MLFLOW_TRACKING_URI"] = case["kube_uri"]
    else:
        os.environ.pop("KUBE_MLFLOW_TRACKING_URI", None)
    config = _parse_kubernetes_config({"kube-job-template-path": os.path.join(here, case["template"]), "repository-uri": "registry.example.com/x"})
    command = kb._get_run_command([case["command"]])
    job = kb._get_kubernetes_job_definition(case["project"], case["image"], case["digest"], command, dict(case["env"]), config["kube-job-template"])
    out["cases"].append({**{k: v for k, v in case.items()}, "run_command": command, "job": job})
print(json.dumps(out, indent=2))
