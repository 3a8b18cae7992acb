"""deploy/: the Kubernetes manifests validate against the Kubernetes API's schemas
(kubernetes-validate, strict: an unknown field fails), follow the practices
docs/distributed.md names, and agree with each other, with the Dockerfile and with the
workspace. No image is built and no cluster is reached: the files are read.

Run by scripts/test.sh with the venv scripts/setup.sh --deploy makes.
"""

import pathlib
import re
import tomllib
import unittest

import kubernetes_validate
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
# The oldest Kubernetes still supported upstream when this was written, and the newest
# the validator knows.
VERSIONS = ["1.31.0", kubernetes_validate.utils.latest_version()]


def documents(name):
    with open(KUBERNETES / name) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def manifests():
    """Every resource of every manifest (the kustomization aside), by kind and name."""
    found = {}
    for path in sorted(KUBERNETES.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in documents(path.name):
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


def pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def flag(args, name):
    return args[args.index(name) + 1]


class Manifests(unittest.TestCase):
    def test_they_validate_against_the_kubernetes_schemas(self):
        resources = manifests()
        self.assertEqual(
            set(resources),
            {
                ("StatefulSet", "loadwright"),
                ("Service", "loadwright"),
                ("Deployment", "loadwright-agent"),
                ("PodDisruptionBudget", "loadwright-agent"),
            },
        )
        for version in VERSIONS:
            for key, doc in resources.items():
                with self.subTest(resource=key, version=version):
                    kubernetes_validate.validate(doc, version, strict=True)

    def test_the_validator_refuses_what_kubernetes_would(self):
        agent = manifests()[("Deployment", "loadwright-agent")]
        broken = yaml.safe_load(yaml.safe_dump(agent))
        pod_spec(broken)["containers"][0]["readOnlyRootFS"] = True
        with self.assertRaises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)
        broken = yaml.safe_load(yaml.safe_dump(agent))
        broken["spec"]["replicas"] = "three"
        with self.assertRaises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)

    def test_the_kustomization_lists_every_manifest(self):
        listed = documents("kustomization.yaml")[0]["resources"]
        present = sorted(
            p.name for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml"
        )
        self.assertEqual(sorted(listed), present)

    def test_every_container_is_locked_down_and_sized(self):
        for key, doc in manifests().items():
            if doc["kind"] not in ("StatefulSet", "Deployment"):
                continue
            spec = pod_spec(doc)
            with self.subTest(workload=key):
                self.assertIs(spec["automountServiceAccountToken"], False)
                pod = spec["securityContext"]
                self.assertIs(pod["runAsNonRoot"], True)
                self.assertNotEqual(pod["runAsUser"], 0)
                self.assertEqual(pod["seccompProfile"]["type"], "RuntimeDefault")
                for container in spec["containers"]:
                    security = container["securityContext"]
                    self.assertIs(security["readOnlyRootFilesystem"], True)
                    self.assertIs(security["allowPrivilegeEscalation"], False)
                    self.assertEqual(security["capabilities"]["drop"], ["ALL"])
                    resources = container["resources"]
                    self.assertIn("cpu", resources["requests"])
                    self.assertIn("memory", resources["requests"])
                    self.assertIn("memory", resources["limits"])
                    image = container["image"]
                    self.assertRegex(image, r":[0-9][\w.-]*$", "a pinned tag")
                    # Whatever it writes is on a volume: the root is read-only.
                    mounts = {m["mountPath"] for m in container["volumeMounts"]}
                    self.assertIn("/tmp", mounts)
                    env = {e["name"]: e for e in container.get("env", [])}
                    cache = env["LOADWRIGHT_CACHE_DIR"]["value"]
                    self.assertTrue(
                        any(cache.startswith(m) for m in mounts), f"{cache} on a volume"
                    )
                sysctls = {s["name"] for s in pod.get("sysctls", [])}
                # Only namespaced, safe sysctls: others keep the pod from starting.
                self.assertLessEqual(sysctls, {"net.ipv4.ip_local_port_range"})

    def test_the_server_keeps_its_data_and_is_probed(self):
        resources = manifests()
        server = resources[("StatefulSet", "loadwright")]
        container = pod_spec(server)["containers"][0]
        args = container["args"]
        self.assertEqual(args[0], "serve")
        data_dir = flag(args, "--data-dir")
        claims = {c["metadata"]["name"] for c in server["spec"]["volumeClaimTemplates"]}
        mounted = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        self.assertIn("data", claims)
        self.assertEqual(mounted["data"], data_dir, "the data directory is the volume")
        config = flag(args, "--config")
        self.assertTrue(config.startswith(mounted["config"]))
        self.assertEqual(container["readinessProbe"]["httpGet"]["path"], "/readyz")
        self.assertEqual(container["livenessProbe"]["httpGet"]["path"], "/healthz")
        port = int(flag(args, "--listen").rsplit(":", 1)[1])
        named = {p["name"]: p["containerPort"] for p in container["ports"]}
        self.assertEqual(named["http"], port)
        # The grace Kubernetes gives covers the server's own shutdown grace.
        grace = int(flag(args, "--shutdown-grace").rstrip("s"))
        self.assertGreater(pod_spec(server)["terminationGracePeriodSeconds"], grace)
        service = resources[("Service", "loadwright")]
        self.assertEqual(service["spec"]["selector"], server["spec"]["selector"]["matchLabels"])
        self.assertEqual(service["spec"]["ports"][0]["targetPort"], "http")

    def test_the_agents_reach_the_coordinators_service(self):
        resources = manifests()
        agents = resources[("Deployment", "loadwright-agent")]
        service = resources[("Service", "loadwright")]
        container = pod_spec(agents)["containers"][0]
        args = container["args"]
        self.assertEqual(args[0], "agent")
        url = f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
        self.assertEqual(flag(args, "--coordinator"), url)
        env = {e["name"]: e for e in container["env"]}
        self.assertIn("secretKeyRef", env["LOADWRIGHT_AGENT_TOKEN"]["valueFrom"])
        self.assertNotIn("--token", args, "no token on the command line")
        budget = resources[("PodDisruptionBudget", "loadwright-agent")]
        self.assertEqual(
            budget["spec"]["selector"]["matchLabels"],
            agents["spec"]["selector"]["matchLabels"],
        )


def stages(text):
    """The Dockerfile's stages: (FROM line, the instructions after it)."""
    lines = []
    for line in re.sub(r"\\\n\s*", " ", text).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    found = []
    for line in lines:
        if line.upper().startswith("FROM "):
            found.append((line, []))
        elif found:
            found[-1][1].append(line)
    return found


class Dockerfile(unittest.TestCase):
    def setUp(self):
        self.text = DOCKERFILE.read_text()
        self.stages = stages(self.text)

    def test_it_builds_in_one_stage_and_runs_in_a_slim_one(self):
        self.assertGreaterEqual(len(self.stages), 2, "multi-stage")
        for line, _ in self.stages:
            image = line.split()[1]
            self.assertRegex(image, r":[\w.-]+$", f"{line}: a pinned tag")
            self.assertNotIn(":latest", image)
        final, instructions = self.stages[-1]
        self.assertRegex(final, r"distroless|-slim|alpine|scratch", "a slim runtime")
        copies = [i for i in instructions if i.upper().startswith("COPY")]
        self.assertTrue(copies and all("--from=" in c for c in copies), "only the build's output")
        self.assertFalse(any(i.upper().startswith("ADD") for _, s in self.stages for i in s))

    def test_it_runs_as_a_user_that_is_not_root(self):
        _, instructions = self.stages[-1]
        users = [i.split()[1] for i in instructions if i.upper().startswith("USER ")]
        self.assertTrue(users, "a USER in the runtime stage")
        uid = users[-1].split(":")[0]
        self.assertTrue(uid.isdigit() and int(uid) != 0, f"a numeric non-root uid: {uid}")
        # The same uid the manifests run as.
        for key, doc in manifests().items():
            if doc["kind"] in ("StatefulSet", "Deployment"):
                self.assertEqual(pod_spec(doc)["securityContext"]["runAsUser"], int(uid), key)

    def test_its_entrypoint_is_the_host_and_its_default_is_the_server(self):
        _, instructions = self.stages[-1]
        entry = [i for i in instructions if i.upper().startswith("ENTRYPOINT")][-1]
        self.assertIn('["/usr/local/bin/host"]', entry, "exec form")
        cmd = [i for i in instructions if i.upper().startswith("CMD")][-1]
        self.assertIn('"serve"', cmd)
        exposed = [i.split()[1] for i in instructions if i.upper().startswith("EXPOSE")]
        self.assertIn("8080", exposed)
        self.assertIn("0.0.0.0:8080", cmd)

    def test_the_build_stage_has_what_the_workspace_needs(self):
        workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())
        rust = workspace["workspace"]["package"]["rust-version"]
        build, instructions = self.stages[0]
        self.assertIn(f"rust:{rust}", build, "the toolchain Cargo.toml asks for")
        copied = set()
        for line in instructions:
            if line.upper().startswith("COPY") and "--from" not in line:
                copied.update(line.split()[1:-1])
        for member in workspace["workspace"]["members"]:
            top = member.split("/")[0]
            self.assertIn(top, copied, f"workspace member {member}")
        # The host compiles in the WIT files.
        self.assertIn("wit", copied)
        for path in copied:
            self.assertTrue((ROOT / path).exists(), path)
        self.assertIn("--locked", " ".join(instructions))
        ignored = (ROOT / ".dockerignore").read_text().split()
        self.assertIn("target", ignored)


if __name__ == "__main__":
    unittest.main()
