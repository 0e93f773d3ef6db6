"""The production deployment files: Dockerfile, compose.yaml, Kubernetes manifests.

No Docker engine or cluster here: the files are parsed and checked against each other and
against the code (settings names, health port, template location).
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import SecretStr

import streams
from streams.clients import resources
from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
K8S = DEPLOY / "k8s"

SETTING_NAMES = {f"WIREWATCH_{name.upper()}" for name in Settings.model_fields}
SECRET_SETTINGS = {
    f"WIREWATCH_{name.upper()}"
    for name, field in Settings.model_fields.items()
    if SecretStr in getattr(field.annotation, "__args__", (field.annotation,))
}
SECRET_KEY = re.compile(r"PASSWORD|API_?KEY|SECRET|TOKEN|ENCRYPTIONKEY", re.IGNORECASE)
REQUIRED_VAR = re.compile(r"^\$\{(?P<name>[A-Z][A-Z0-9_]*):\?[^}]*\}$")
VAR_REF = re.compile(r"\$\{(?P<name>[A-Z][A-Z0-9_]*)(?::?(?P<op>[-?])(?P<arg>[^}]*))?\}")
PINNED_TAG = re.compile(r"^\d+\.\d+\.\d+$")
ONE_SHOTS = {"wirewatch-init", "elasticsearch-setup"}
WORKER_PORT = Settings.model_fields["worker_web_port"].default


# --------------------------------------------------------------------------- helpers


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    svcs: dict[str, dict[str, Any]] = compose["services"]
    return svcs


def env_of(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict (compose allows a mapping or a KEY=VALUE list)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def resolve_default(value: str) -> str:
    """`${VAR:-default}` -> default (what compose uses when VAR is not set)."""
    return VAR_REF.sub(lambda m: m.group("arg") if m.group("op") == "-" else m.group(0), value)


def image_tag(image: str) -> tuple[str, str]:
    name, _, tag = resolve_default(image).rpartition(":")
    return name, tag


def k8s_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def all_k8s() -> dict[Path, list[dict[str, Any]]]:
    return {p: k8s_docs(p) for p in sorted(K8S.rglob("*.yaml")) if p.name != "kustomization.yaml"}


def one(kind: str, docs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if docs is None:
        docs = [d for ds in all_k8s().values() for d in ds]
    found = [d for d in docs if d.get("kind") == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def configmap() -> dict[str, str]:
    data: dict[str, str] = one("ConfigMap")["data"]
    return data


def memory_bytes(quantity: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", str(quantity))
    assert m, quantity
    return float(m.group(1)) * units.get(m.group(2), 1)


def compose_bytes(size: str) -> int:
    """Docker's byte sizes: 512m, 2g (binary units)."""
    m = re.fullmatch(r"(\d+)([bkmg]?)", str(size).lower())
    assert m, size
    return int(m.group(1)) * {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30}[m.group(2)]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


# --------------------------------------------------------------------------- compose


def test_compose_has_the_services(services: dict[str, Any]) -> None:
    assert {"kafka", "elasticsearch", "kibana", "wirewatch-init", "worker"} <= set(services)


def test_third_party_images_are_official_and_pinned(services: dict[str, Any]) -> None:
    expected = {
        "kafka": "apache/kafka",
        "elasticsearch": "docker.elastic.co/elasticsearch/elasticsearch",
        "kibana": "docker.elastic.co/kibana/kibana",
    }
    for svc, repo in expected.items():
        name, tag = image_tag(services[svc]["image"])
        assert name == repo, f"{svc}: {name} is not the official image {repo}"
        assert PINNED_TAG.match(tag), f"{svc}: tag {tag!r} is not a pinned x.y.z version"
    assert image_tag(services["kafka"]["image"])[1].startswith("4.")
    es_tag = image_tag(services["elasticsearch"]["image"])[1]
    assert es_tag.startswith("8.19.")
    assert image_tag(services["kibana"]["image"])[1] == es_tag, "Kibana must match Elasticsearch"


def test_no_image_is_latest_or_untagged(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        assert "image" in svc, f"{name} has no image name"
        repo, tag = image_tag(svc["image"])
        assert repo and tag and tag != "latest", f"{name}: {svc['image']!r} is not pinned"


def test_wirewatch_services_build_from_the_dockerfile(services: dict[str, Any]) -> None:
    for name in ("wirewatch-init", "worker"):
        build = services[name]["build"]
        context = (COMPOSE_FILE.parent / build["context"]).resolve()
        assert context == ROOT, f"{name}: build context must be the repository root"
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE
    assert services["wirewatch-init"]["image"] == services["worker"]["image"]


def test_long_running_services_have_healthchecks(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        if name in ONE_SHOTS:
            continue
        check = svc.get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no healthcheck"
        assert check.get("test"), f"{name}: healthcheck without a test"


def test_healthchecks_probe_the_right_thing(services: dict[str, Any]) -> None:
    def text(svc: str) -> str:
        t = services[svc]["healthcheck"]["test"]
        return " ".join(t) if isinstance(t, list) else t

    assert "kafka-broker-api-versions.sh" in text("kafka") or "kafka-topics.sh" in text("kafka")
    assert "_cluster/health" in text("elasticsearch") and "curl" in text("elasticsearch")
    assert "5601" in text("kibana")
    assert f"{WORKER_PORT}/health" in text("worker")


def test_one_shots_run_once(services: dict[str, Any]) -> None:
    for name in ONE_SHOTS:
        assert str(services[name].get("restart")) == "no", f"{name} must not restart"
    assert services["wirewatch-init"]["command"] == ["init"]
    assert services["worker"]["command"] == ["worker"]
    assert services["worker"]["restart"] in {"always", "unless-stopped", "on-failure"}


def test_dependencies_gate_the_start_order(services: dict[str, Any]) -> None:
    def cond(svc: str, dep: str) -> str:
        deps = services[svc]["depends_on"]
        assert isinstance(deps, dict), f"{svc}: depends_on needs conditions"
        return str(deps[dep]["condition"])

    assert cond("worker", "wirewatch-init") == "service_completed_successfully"
    assert cond("wirewatch-init", "kafka") == "service_healthy"
    assert cond("wirewatch-init", "elasticsearch") == "service_healthy"
    assert cond("kibana", "elasticsearch") == "service_healthy"
    # whatever creates the wirewatch ES user must finish before anything logs in with it
    if "elasticsearch-setup" in services:
        assert cond("wirewatch-init", "elasticsearch-setup") == "service_completed_successfully"
        assert cond("kibana", "elasticsearch-setup") == "service_completed_successfully"


def test_depends_on_only_names_real_services(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        for dep in svc.get("depends_on") or {}:
            assert dep in services, f"{name} depends on unknown service {dep}"


def test_host_ports_bind_loopback_only(services: dict[str, Any]) -> None:
    published = 0
    for name, svc in services.items():
        for port in svc.get("ports") or []:
            published += 1
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is not on loopback"
    assert published >= 3
    assert not services["worker"].get("ports"), "replicated workers cannot publish a host port"


def test_named_volumes_are_declared_and_used(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    used: set[str] = set()
    for svc in compose["services"].values():
        for vol in svc.get("volumes") or []:
            source = vol["source"] if isinstance(vol, dict) else str(vol).split(":", 1)[0]
            if not source.startswith((".", "/", "~", "$")):
                used.add(source)
    assert used == declared, f"declared {declared}, used {used}"

    def mounts(svc: str) -> dict[str, str]:
        vols = compose["services"][svc].get("volumes") or []
        return {v.split(":")[1]: v.split(":")[0] for v in vols if isinstance(v, str)}

    kafka_env = env_of(compose["services"]["kafka"])
    assert kafka_env["KAFKA_LOG_DIRS"] in mounts("kafka"), "Kafka data must be on the volume"
    assert "/usr/share/elasticsearch/data" in mounts("elasticsearch")


def test_no_literal_secrets(services: dict[str, Any]) -> None:
    checked = 0
    for name, svc in services.items():
        for key, value in env_of(svc).items():
            if SECRET_KEY.search(key):
                checked += 1
                assert REQUIRED_VAR.match(value), (
                    f"{name}.{key} must come from a required variable like ${{VAR:?msg}}"
                )
    assert checked >= 4


def test_env_example_documents_every_required_variable() -> None:
    text = COMPOSE_FILE.read_text()
    required = {m.group("name") for m in VAR_REF.finditer(text) if m.group("op") == "?"}
    example = (DEPLOY / ".env.example").read_text()
    documented = dict(
        line.split("=", 1)
        for line in example.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    assert required, "compose should require its secrets"
    assert required <= set(documented), f"undocumented: {required - set(documented)}"
    for name, value in documented.items():
        if SECRET_KEY.search(name):
            assert value.strip() == "", f".env.example must not carry a value for {name}"


def test_worker_talks_to_the_in_network_services(services: dict[str, Any]) -> None:
    kafka_env = env_of(services["kafka"])
    advertised = {
        listener.split("://", 1)[1]
        for listener in kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    }
    for name in ("wirewatch-init", "worker"):
        env = env_of(services[name])
        for server in env["WIREWATCH_KAFKA_BOOTSTRAP"].split(","):
            host = server.rsplit(":", 1)[0]
            assert host in services, f"{name}: Kafka host {host} is not a compose service"
            assert server in advertised, f"{name}: {server} is not an advertised listener"
        es = urlsplit(env["WIREWATCH_ES_URL"])
        assert es.hostname == "elasticsearch" and es.hostname in services
        assert es.port == 9200
        assert env["WIREWATCH_WORKER_WEB_BIND"] == "0.0.0.0"
        has_key = "WIREWATCH_ES_API_KEY" in env
        has_user = {"WIREWATCH_ES_USERNAME", "WIREWATCH_ES_PASSWORD"} <= set(env)
        assert has_key or has_user, f"{name}: no Elasticsearch credentials"


def test_compose_wirewatch_settings_are_real(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        for key in env_of(svc):
            if key.startswith("WIREWATCH_"):
                assert key in SETTING_NAMES, f"{name}: {key} is not a wirewatch setting"


def test_kafka_runs_kraft_combined(services: dict[str, Any]) -> None:
    env = env_of(services["kafka"])
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    node = env["KAFKA_NODE_ID"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{node}@kafka:")
    assert env["CLUSTER_ID"]
    listeners = env["KAFKA_LISTENERS"]
    assert f"{env['KAFKA_CONTROLLER_LISTENER_NAMES']}://" in listeners
    assert int(resolve_default(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"])) == 1
    max_msg = Settings.model_fields["kafka_max_message_bytes"].default
    assert int(env["KAFKA_MESSAGE_MAX_BYTES"]) >= max_msg


def test_elasticsearch_single_node_with_security(services: dict[str, Any]) -> None:
    env = env_of(services["elasticsearch"])
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "true"
    assert REQUIRED_VAR.match(env["ELASTIC_PASSWORD"])
    xms = re.search(r"-Xms(\d+)g", env["ES_JAVA_OPTS"])
    xmx = re.search(r"-Xmx(\d+)g", env["ES_JAVA_OPTS"])
    assert xms and xmx and xms.group(1) == xmx.group(1), "heap: Xms must equal Xmx"
    heap = int(xmx.group(1)) * 2**30
    assert 2 * 2**30 <= heap <= 12 * 2**30, "heap sized for a 24 GiB host (at most half)"
    limit = compose_bytes(services["elasticsearch"]["deploy"]["resources"]["limits"]["memory"])
    assert limit >= 2 * heap, "leave as much again for the file-system cache"
    kibana = env_of(services["kibana"])
    assert "http://elasticsearch:9200" in kibana["ELASTICSEARCH_HOSTS"]
    assert kibana.get("ELASTICSEARCH_USERNAME") == "kibana_system" or (
        "ELASTICSEARCH_SERVICEACCOUNTTOKEN" in kibana
    )


def test_two_workers_share_the_partitions(services: dict[str, Any]) -> None:
    worker = services["worker"]
    replicas = worker["deploy"]["replicas"]
    assert replicas == 2
    assert "container_name" not in worker, "a fixed container name prevents replicas"
    partitions = int(resolve_default(env_of(worker)["WIREWATCH_TOPIC_PARTITIONS"]))
    assert replicas <= partitions


# --------------------------------------------------------------------------- Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        instr, _, args = buf.partition(" ")
        out.append((instr.upper(), args.strip()))
        buf = ""
    return out


def final_stage() -> list[tuple[str, str]]:
    instrs = dockerfile_instructions()
    last_from = max(i for i, (instr, _) in enumerate(instrs) if instr == "FROM")
    return instrs[last_from:]


def test_dockerfile_is_multi_stage_on_python_slim() -> None:
    instrs = dockerfile_instructions()
    args = dict(a.split("=", 1) for i, a in instrs if i == "ARG" and "=" in a)
    froms = [a.split()[0] for i, a in instrs if i == "FROM"]
    assert len(froms) >= 2, "multi-stage build"
    for image in froms:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        assert re.match(r"python:3\.11(\.\d+)?-slim", image), image
    assert any(i == "COPY" and "--from=" in a for i, a in final_stage())


def test_dockerfile_runs_as_non_root() -> None:
    users = [a for i, a in final_stage() if i == "USER"]
    assert users, "the final stage needs a USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert user.isdigit(), "a numeric uid lets Kubernetes verify runAsNonRoot"
    k8s_uid = pod_spec(one("Deployment"))["securityContext"]["runAsUser"]
    assert int(user) == k8s_uid


def test_dockerfile_healthcheck_entrypoint_and_port() -> None:
    final = dict(final_stage())
    assert "/health" in final["HEALTHCHECK"] and str(WORKER_PORT) in final["HEALTHCHECK"]
    assert json.loads(final["ENTRYPOINT"]) == ["wirewatch"]
    assert json.loads(final["CMD"]) == ["worker"]
    assert str(WORKER_PORT) in final["EXPOSE"].split()


def test_dockerfile_env_is_real_settings() -> None:
    env: dict[str, str] = {}
    for instr, args in final_stage():
        if instr == "ENV":
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                env[key] = value
    assert env["WIREWATCH_WORKER_WEB_BIND"] == "0.0.0.0"
    for key in env:
        if key.startswith("WIREWATCH_"):
            assert key in SETTING_NAMES, f"{key} is not a wirewatch setting"


def test_the_image_gets_its_data_from_the_wheel_not_from_deploy() -> None:
    # The templates, Kibana objects and default rules are package data found through
    # importlib.resources (streams/clients/resources.py): the image copies nothing from deploy/
    # into site-packages, and its build proves the installed package finds and parses them.
    package = Path(streams.__file__).resolve().parent
    template = resources.resource(resources.INDEX_TEMPLATE)
    assert isinstance(template, Path)
    assert template.relative_to(package) == Path("resources/elasticsearch/index-template.json")
    text = DOCKERFILE.read_text()
    copied = [a for i, a in dockerfile_instructions() if i == "COPY" and "--from=" not in a]
    assert not [a for a in copied if a.startswith("deploy/")], copied
    assert "$site/deploy" not in text and "site-packages/deploy" not in text
    assert "COPY streams/ streams/" in text
    assert "from streams.clients.resources import check" in text, "the build must prove it"
    assert "cd / " in text, "the check must run outside /src, against the installed package"


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    path = path.strip("/")
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for pat in patterns:
        negate = pat.startswith("!")
        pat = pat.lstrip("!").strip("/")
        glob = pat[3:] if pat.startswith("**/") else None
        hit = any(
            fnmatch.fnmatchcase(p, pat) or (glob is not None and fnmatch.fnmatchcase(p, glob))
            for p in prefixes
        ) or (glob is not None and any(fnmatch.fnmatchcase(part, glob) for part in parts))
        if hit:
            result = not negate
    return result


def test_dockerignore_keeps_junk_and_secrets_out_but_not_the_sources() -> None:
    patterns = dockerignore_patterns()
    for junk in (
        ".venv",
        ".stack",
        ".git",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".env",
        "deploy/.env",
        "streams/__pycache__",
    ):
        assert ignored(junk, patterns), f"{junk} should be excluded from the build context"
    sources = [
        a.split()[-2] for i, a in dockerfile_instructions() if i == "COPY" and "--from=" not in a
    ]
    assert sources
    for src in sources:
        assert (ROOT / src).exists(), f"COPY {src}: no such path"
        assert not ignored(src, patterns), f"COPY {src} is excluded by .dockerignore"


# --------------------------------------------------------------------------- Kubernetes


def test_every_k8s_document_is_well_formed() -> None:
    docs = all_k8s()
    assert docs
    for path, items in docs.items():
        assert items, f"{path} is empty"
        for doc in items:
            assert doc.get("apiVersion") and doc.get("kind"), path
            assert doc.get("metadata", {}).get("name"), path


def test_k8s_kinds() -> None:
    kinds = {d["kind"] for ds in all_k8s().values() for d in ds}
    assert {
        "Namespace",
        "ConfigMap",
        "Secret",
        "Job",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Kafka",
        "KafkaNodePool",
        "Elasticsearch",
        "Kibana",
    } <= kinds
    assert "StatefulSet" not in kinds, "Kafka/Elasticsearch come from operators, not StatefulSets"


def test_kustomization_lists_the_manifests_but_not_the_secret_template() -> None:
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    resources = kust["resources"]
    for res in resources:
        assert (K8S / res).is_file(), f"kustomization lists missing {res}"
    top = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.template.yaml"}
    assert set(resources) == top
    assert "secret.template.yaml" not in resources
    assert kust["namespace"] == one("Namespace")["metadata"]["name"]
    image_names = {img["name"] for img in kust["images"]}
    for kind in ("Deployment", "Job"):
        for c in pod_spec(one(kind))["containers"]:
            assert c["image"].split(":")[0] in image_names, f"{kind} image not set by kustomize"


def test_configmap_keys_are_real_settings() -> None:
    data = configmap()
    assert data
    unknown = set(data) - SETTING_NAMES
    assert not unknown, f"not wirewatch settings (renamed?): {sorted(unknown)}"
    leaked = set(data) & SECRET_SETTINGS
    assert not leaked, f"secrets belong in the Secret, not the ConfigMap: {leaked}"
    for key, value in data.items():
        assert isinstance(value, str), f"{key}: ConfigMap values must be strings"
    # the values must validate as settings (types, bounds)
    parsed = Settings.model_validate(
        {k.removeprefix("WIREWATCH_").lower(): v for k, v in data.items()}
    )
    assert parsed.topic_partitions == int(data["WIREWATCH_TOPIC_PARTITIONS"])
    assert data["WIREWATCH_WORKER_WEB_BIND"] == "0.0.0.0"


def test_secret_template_has_keys_but_no_values() -> None:
    secret = one("Secret", k8s_docs(K8S / "secret.template.yaml"))
    assert not secret.get("data"), "use stringData with empty values in the template"
    string_data = secret.get("stringData") or {}
    assert "WIREWATCH_ES_API_KEY" in string_data
    for key, value in string_data.items():
        assert key in SETTING_NAMES, f"{key} is not a wirewatch setting"
        assert value in ("", None), f"the template must not carry a value for {key}"
    assert "kubectl" in (K8S / "secret.template.yaml").read_text()


def test_workloads_read_config_and_secret() -> None:
    cm_name = one("ConfigMap")["metadata"]["name"]
    secret_name = one("Secret", k8s_docs(K8S / "secret.template.yaml"))["metadata"]["name"]
    for kind in ("Deployment", "Job"):
        (container,) = pod_spec(one(kind))["containers"]
        refs = container["envFrom"]
        assert {"configMapRef": {"name": cm_name}} in refs, kind
        assert {"secretRef": {"name": secret_name}} in refs, kind


def check_hardened(kind: str) -> None:
    spec = pod_spec(one(kind))
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    assert spec.get("automountServiceAccountToken") is False
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for c in spec["containers"]:
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True, kind
        assert sc["allowPrivilegeEscalation"] is False, kind
        assert sc["capabilities"]["drop"] == ["ALL"], kind
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        assert "/tmp" in mounts, f"{kind}: read-only root fs needs a writable /tmp"
        for name in mounts.values():
            assert "emptyDir" in volumes[name], f"{kind}: {name} should be an emptyDir"


def test_init_job() -> None:
    job = one("Job")
    spec = pod_spec(job)
    assert spec["restartPolicy"] in {"OnFailure", "Never"}
    (container,) = spec["containers"]
    assert container["args"] == ["init"]
    assert "command" not in container, "keep the image ENTRYPOINT (wirewatch)"
    check_hardened("Job")


def test_worker_deployment() -> None:
    dep = one("Deployment")
    assert dep["spec"]["replicas"] == 2
    spec = pod_spec(dep)
    (container,) = spec["containers"]
    assert container["args"] == ["worker"]
    assert "command" not in container
    web_port = int(configmap()["WIREWATCH_WORKER_WEB_PORT"])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    served = set(re.findall(r'@app\.page\("([^"]+)"\)', (ROOT / "streams" / "app.py").read_text()))
    expected = {"readinessProbe": "/health", "startupProbe": "/health", "livenessProbe": "/live"}
    for probe, path in expected.items():
        get = container[probe]["httpGet"]
        assert get["path"] == path and path in served, probe
        port = get["port"]
        assert (ports[port] if isinstance(port, str) else port) == web_port, probe
    annotations = dep["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert int(annotations["prometheus.io/port"]) == web_port
    res = container["resources"]
    request = memory_bytes(res["requests"]["memory"])
    assert 2**30 <= request <= 2 * 2**30, "about 1 GiB for spaCy sm"
    assert memory_bytes(res["limits"]["memory"]) >= request
    assert res["requests"]["cpu"]
    selector = dep["spec"]["selector"]["matchLabels"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()
    check_hardened("Deployment")


def test_hpa_is_capped_at_the_partition_count() -> None:
    hpa = one("HorizontalPodAutoscaler")
    dep = one("Deployment")
    assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    assert hpa["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"]
    partitions = int(configmap()["WIREWATCH_TOPIC_PARTITIONS"])
    assert hpa["spec"]["maxReplicas"] <= partitions
    assert hpa["spec"]["minReplicas"] <= dep["spec"]["replicas"] <= hpa["spec"]["maxReplicas"]


def test_pdb_selects_the_workers() -> None:
    pdb = one("PodDisruptionBudget")
    labels = one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def operator_docs() -> list[dict[str, Any]]:
    return [d for p in sorted((K8S / "operators").glob("*.yaml")) for d in k8s_docs(p)]


def test_operator_crs_match_the_compose_versions(services: dict[str, Any]) -> None:
    docs = operator_docs()
    kafka = one("Kafka", docs)
    pool = one("KafkaNodePool", docs)
    es = one("Elasticsearch", docs)
    kibana = one("Kibana", docs)
    assert kafka["apiVersion"].startswith("kafka.strimzi.io/")
    assert es["apiVersion"].startswith("elasticsearch.k8s.elastic.co/")
    assert kibana["apiVersion"].startswith("kibana.k8s.elastic.co/")
    assert kafka["spec"]["kafka"]["version"] == image_tag(services["kafka"]["image"])[1]
    es_version = image_tag(services["elasticsearch"]["image"])[1]
    assert es["spec"]["version"] == es_version == kibana["spec"]["version"]
    assert set(pool["spec"]["roles"]) == {"broker", "controller"}
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    assert "zookeeper" not in kafka["spec"]
    assert kibana["spec"]["elasticsearchRef"]["name"] == es["metadata"]["name"]
    replication = int(configmap()["WIREWATCH_TOPIC_REPLICATION"])
    assert replication <= pool["spec"]["replicas"]


def test_configmap_points_at_the_operator_services() -> None:
    docs = operator_docs()
    kafka, es = one("Kafka", docs), one("Elasticsearch", docs)
    data = configmap()
    listeners = {ln["port"]: ln for ln in kafka["spec"]["kafka"]["listeners"]}
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap.{kafka['metadata']['namespace']}.svc"
    for server in data["WIREWATCH_KAFKA_BOOTSTRAP"].split(","):
        host, port = server.rsplit(":", 1)
        assert host == bootstrap
        assert int(port) in listeners
        tls = listeners[int(port)]["tls"]
        assert (data["WIREWATCH_KAFKA_SECURITY_PROTOCOL"] in {"SSL", "SASL_SSL"}) == tls
    url = urlsplit(data["WIREWATCH_ES_URL"])
    assert url.hostname == f"{es['metadata']['name']}-es-http.{es['metadata']['namespace']}.svc"
    tls_off = (
        es["spec"].get("http", {}).get("tls", {}).get("selfSignedCertificate", {}).get("disabled")
    )
    assert url.scheme == ("http" if tls_off else "https")


def test_readmes_cover_running_secrets_and_operators() -> None:
    readme = (DEPLOY / "README.md").read_text()
    assert "docker compose -f deploy/compose.yaml --env-file deploy/.env up -d" in readme
    assert "_import" in readme and "streams/resources/kibana/" in readme
    for var in ("ELASTIC_PASSWORD", "KIBANA_PASSWORD", "WIREWATCH_ES_PASSWORD"):
        assert var in readme
    k8s_readme = (K8S / "README.md").read_text()
    assert "Strimzi" in k8s_readme and "ECK" in k8s_readme and "StatefulSet" in k8s_readme
