//! The Kubernetes manifests (`deploy/kubernetes`) against the service table they deploy.
//!
//! Each overlay is rendered with `kubectl kustomize`, as `kubectl apply -k` would render it,
//! and every object is checked against `chassis::topology::SERVICES` and against the flags
//! the services really parse (each runner's `clap` command, with its `BAZAAR_*` variables):
//! a Deployment and a headless Service per service, on the table's ports; probes on the
//! admin port (gRPC health for gRPC services, `/healthz` and `/readyz` for the storefront);
//! only variables a service reads; every callee's address naming the callee's Service and
//! port; NetworkPolicies that let in exactly the callers of the table on a service's port;
//! every Secret that is referenced made by the overlay, by cert-manager, or by the commands
//! of docs/kubernetes.md. A change to the table, a flag or a manifest that leaves them out
//! of step fails here.
//!
//! The rendered YAML is turned into JSON by kubectl itself (`kubectl annotate --local -o
//! json`, which needs no cluster), so no YAML parser is needed here. Without
//! `BAZAAR_TEST_KUBECTL` (the path of a kubectl; `scripts/kubernetes-check.sh` installs the
//! pinned one) the tests say SKIPPED and check nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bazaar::services::RUNNERS;
use chassis::topology::{Probe, SERVICES, Spec};
use serde_json::Value;

/// The variable that names the kubectl to render with.
const KUBECTL_VAR: &str = "BAZAAR_TEST_KUBECTL";

/// The label every pod of a service carries, and every selector selects by.
const NAME_LABEL: &str = "app.kubernetes.io/name";

/// The name of the health service the admin port answers `SERVING` for while the process
/// runs (`chassis::admin::health::LIVENESS`).
const LIVENESS: &str = chassis::admin::health::LIVENESS;

/// The kubectl to use, or `None` (having said SKIPPED) when none is configured.
fn kubectl(test: &str) -> Option<PathBuf> {
    match std::env::var_os(KUBECTL_VAR) {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: kubectl not found; set {KUBECTL_VAR}=/path/to/kubectl \
                 (scripts/kubernetes-check.sh installs the pinned one in .ci/tools)"
            );
            None
        }
    }
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `kubectl args`, with `input` on its standard input, and returns its output.
fn run(kubectl: &Path, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(kubectl)
        .args(args)
        // No cluster is asked anything; an empty configuration makes sure of it.
        .env("KUBECONFIG", "/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", kubectl.display()));
    let mut stdin = child.stdin.take().expect("a piped standard input");
    let writing = {
        let input = input.to_vec();
        std::thread::spawn(move || stdin.write_all(&input))
    };
    let output = child.wait_with_output().expect("kubectl ends");
    writing
        .join()
        .expect("the writer ends")
        .expect("kubectl reads its input");
    assert!(
        output.status.success(),
        "kubectl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Every object `overlay` renders, as JSON.
fn render(kubectl: &Path, overlay: &str) -> Vec<Value> {
    let dir = repository()
        .join("deploy/kubernetes/overlays")
        .join(overlay);
    let dir = dir.to_str().expect("a UTF-8 path");
    let yaml = run(kubectl, &["kustomize", dir], b"");
    // Removing an annotation nobody sets changes nothing but the output format.
    let json = run(
        kubectl,
        &[
            "annotate",
            "--local",
            "-f",
            "-",
            "-o",
            "json",
            "bazaar.check/none-",
        ],
        &yaml,
    );
    let mut objects = Vec::new();
    for value in serde_json::Deserializer::from_slice(&json).into_iter::<Value>() {
        let value = value.expect("kubectl prints JSON");
        match value["kind"].as_str() {
            Some("List") => objects.extend(value["items"].as_array().cloned().unwrap_or_default()),
            _ => objects.push(value),
        }
    }
    assert!(!objects.is_empty(), "{overlay} renders nothing");
    objects
}

/// The rendered objects of one overlay, and the problems found in them.
struct Manifests {
    overlay: &'static str,
    objects: Vec<Value>,
    problems: Vec<String>,
}

impl Manifests {
    fn of(kubectl: &Path, overlay: &'static str) -> Self {
        Self {
            overlay,
            objects: render(kubectl, overlay),
            problems: Vec::new(),
        }
    }

    fn all(&self, kind: &str) -> impl Iterator<Item = &Value> {
        self.objects.iter().filter(move |o| o["kind"] == kind)
    }

    fn find(&self, kind: &str, name: &str) -> Option<&Value> {
        self.all(kind).find(|o| o["metadata"]["name"] == name)
    }

    fn problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    /// Fails with every problem found, one a line.
    fn assert_none(&self) {
        assert!(
            self.problems.is_empty(),
            "overlay {} is out of step with the service table:\n  {}",
            self.overlay,
            self.problems.join("\n  ")
        );
    }
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

fn number(value: &Value) -> Option<i64> {
    value.as_i64()
}

/// The variables a service reads: every `BAZAAR_*` variable (and any other) of its flags.
fn variables_read(spec: &Spec) -> BTreeSet<String> {
    let runner = RUNNERS
        .iter()
        .find(|runner| runner.spec.name == spec.name)
        .expect("every service has a runner");
    runner
        .flags()
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|env| env.to_string_lossy().into_owned())
        .collect()
}

/// The default of the flag that reads `variable`, for `spec`.
fn flag_default(spec: &Spec, variable: &str) -> Option<String> {
    let runner = RUNNERS.iter().find(|r| r.spec.name == spec.name)?;
    let command = runner.flags();
    let arg = command
        .get_arguments()
        .find(|arg| arg.get_env().is_some_and(|env| env == variable))?;
    arg.get_default_values()
        .first()
        .map(|value| value.to_string_lossy().into_owned())
}

/// The services whose `calls` name `callee`.
fn callers_of(callee: &str) -> BTreeSet<String> {
    SERVICES
        .iter()
        .filter(|spec| spec.calls.contains(&callee))
        .map(|spec| spec.name.to_owned())
        .collect()
}

/// The literal value of variable `name` in `container`'s environment.
fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    list(&container["env"])
        .iter()
        .find(|env| env["name"] == name)
        .and_then(|env| env["value"].as_str())
}

/// Checks what every overlay must get right, service by service.
fn check_services(m: &mut Manifests) {
    let images: BTreeSet<String> = m
        .all("Deployment")
        .flat_map(|d| list(&d["spec"]["template"]["spec"]["containers"]))
        .map(|c| text(&c["image"]).to_owned())
        .collect();
    if images.len() != 1 {
        m.problem(format!("one image for every service, not {images:?}"));
    }
    let deployments: BTreeSet<String> = m
        .all("Deployment")
        .map(|d| text(&d["metadata"]["name"]).to_owned())
        .collect();
    let table: BTreeSet<String> = SERVICES.iter().map(|s| s.name.to_owned()).collect();
    if deployments != table {
        m.problem(format!(
            "Deployments {deployments:?}, where the table has {table:?}"
        ));
    }
    for spec in SERVICES {
        check_deployment(m, spec);
        check_service(m, spec);
        check_network_policy(m, spec);
        check_disruption_budget(m, spec);
    }
    check_default_deny(m);
    check_autoscalers(m);
}

fn check_deployment(m: &mut Manifests, spec: &Spec) {
    let name = spec.name;
    let Some(deployment) = m.find("Deployment", name).cloned() else {
        m.problem(format!("no Deployment {name}"));
        return;
    };
    let pod = &deployment["spec"]["template"];
    if pod["metadata"]["labels"][NAME_LABEL] != name
        || deployment["spec"]["selector"]["matchLabels"][NAME_LABEL] != name
    {
        m.problem(format!(
            "Deployment {name}: pods labelled and selected {NAME_LABEL}={name}"
        ));
    }
    let strategy = &deployment["spec"]["strategy"];
    if strategy["type"] != "RollingUpdate"
        || number(&strategy["rollingUpdate"]["maxUnavailable"]) != Some(0)
    {
        m.problem(format!(
            "Deployment {name}: a RollingUpdate with maxUnavailable 0, not {strategy}"
        ));
    }
    let containers = list(&pod["spec"]["containers"]);
    let [container] = containers else {
        m.problem(format!(
            "Deployment {name}: one container, not {}",
            containers.len()
        ));
        return;
    };
    if list(&container["args"]) != [Value::from(name)] {
        m.problem(format!(
            "Deployment {name}: runs `bazaar serve {name}` (args [\"{name}\"]), not {}",
            container["args"]
        ));
    }

    // Ports: the table's, named as the probes and Services name them.
    let main_port_name = match spec.probe {
        Probe::Grpc => "grpc",
        Probe::Http(_) => "http",
    };
    let ports: BTreeMap<String, i64> = list(&container["ports"])
        .iter()
        .map(|p| {
            (
                text(&p["name"]).to_owned(),
                number(&p["containerPort"]).unwrap_or(0),
            )
        })
        .collect();
    let wanted = BTreeMap::from([
        (main_port_name.to_owned(), i64::from(spec.port)),
        ("admin".to_owned(), i64::from(spec.admin_port)),
    ]);
    if ports != wanted {
        m.problem(format!(
            "Deployment {name}: ports {ports:?}, not {wanted:?}"
        ));
    }

    // The environment: only what the service reads, listening where the table says,
    // callees at their Services.
    let read = variables_read(spec);
    for env in list(&container["env"]) {
        let variable = text(&env["name"]);
        if !read.contains(variable) {
            m.problem(format!(
                "Deployment {name}: sets {variable}, which `bazaar serve {name}` does not read"
            ));
        }
    }
    for (variable, port) in [
        ("BAZAAR_LISTEN", spec.port),
        ("BAZAAR_ADMIN_LISTEN", spec.admin_port),
    ] {
        let wanted = format!("0.0.0.0:{port}");
        if env_value(container, variable) != Some(wanted.as_str()) {
            m.problem(format!(
                "Deployment {name}: {variable}={wanted}, not {:?}",
                env_value(container, variable)
            ));
        }
    }
    for callee in SERVICES {
        let variable = format!("BAZAAR_{}_ADDR", callee.name.to_ascii_uppercase());
        let calls = spec.calls.contains(&callee.name);
        if !read.contains(&variable) {
            if calls {
                m.problem(format!(
                    "{name} calls {} but reads no {variable}",
                    callee.name
                ));
            }
            continue;
        }
        // A callee's address names its headless Service, on its port, looked up again and
        // again (one replica per pod address); the certificates name the short name.
        let wanted = format!("dns:///{}:{}", callee.name, callee.port);
        match env_value(container, &variable) {
            Some(value) if value == wanted => {}
            other => m.problem(format!(
                "Deployment {name}: {variable}={wanted} (the {} Service), not {other:?}",
                callee.name
            )),
        }
        if !calls {
            m.problem(format!(
                "{name} reads {variable} but the table says it does not call {}",
                callee.name
            ));
        }
    }

    check_probes(m, spec, container);

    // Stopping: endpoints first, then the chassis's drain, within the grace period.
    let pre_stop = &container["lifecycle"]["preStop"];
    let pre_stop_secs = number(&pre_stop["sleep"]["seconds"]);
    if pre_stop_secs.is_none_or(|secs| secs < 1) {
        m.problem(format!(
            "Deployment {name}: a preStop sleep, so endpoints drop the pod before it stops"
        ));
    }
    let grace: i64 = env_value(container, "BAZAAR_SHUTDOWN_GRACE_SECS")
        .map(str::to_owned)
        .or_else(|| flag_default(spec, "BAZAAR_SHUTDOWN_GRACE_SECS"))
        .and_then(|secs| secs.parse().ok())
        .unwrap_or(i64::MAX);
    let termination = number(&pod["spec"]["terminationGracePeriodSeconds"]).unwrap_or(30);
    if termination <= pre_stop_secs.unwrap_or(0).saturating_add(grace) {
        m.problem(format!(
            "Deployment {name}: terminationGracePeriodSeconds {termination} must exceed the \
             preStop sleep plus BAZAAR_SHUTDOWN_GRACE_SECS ({grace})"
        ));
    }

    let resources = &container["resources"];
    for path in ["/requests/cpu", "/requests/memory", "/limits/memory"] {
        if resources.pointer(path).is_none() {
            m.problem(format!("Deployment {name}: resources{path} is not set"));
        }
    }
    check_secret_references(m, &deployment);
}

fn check_probes(m: &mut Manifests, spec: &Spec, container: &Value) {
    let name = spec.name;
    let admin = i64::from(spec.admin_port);
    for (probe, health) in [
        ("startupProbe", LIVENESS),
        ("livenessProbe", LIVENESS),
        ("readinessProbe", ""),
    ] {
        let found = &container[probe];
        match spec.probe {
            Probe::Grpc => {
                // gRPC health on the admin port, in plaintext: `liveness` while the
                // process answers, the whole server's status ("") for readiness.
                let grpc = &found["grpc"];
                if number(&grpc["port"]) != Some(admin) || text(&grpc["service"]) != health {
                    m.problem(format!(
                        "Deployment {name}: {probe} is gRPC health of {health:?} on the admin \
                         port {admin}, not {found}"
                    ));
                }
            }
            Probe::Http(_) => {
                let path = if probe == "readinessProbe" {
                    "/readyz"
                } else {
                    "/healthz"
                };
                let http = &found["httpGet"];
                let port_ok = number(&http["port"]) == Some(admin) || http["port"] == "admin";
                if !port_ok || http["path"] != path {
                    m.problem(format!(
                        "Deployment {name}: {probe} is GET {path} on the admin port {admin}, \
                         not {found}"
                    ));
                }
            }
        }
    }
}

/// Every Secret a Deployment names exists: rendered by the overlay, written by a
/// cert-manager Certificate, or made by the commands docs/kubernetes.md gives.
fn check_secret_references(m: &mut Manifests, deployment: &Value) {
    let name = text(&deployment["metadata"]["name"]).to_owned();
    let pod = &deployment["spec"]["template"]["spec"];
    let mut wanted: Vec<(String, Option<String>)> = Vec::new();
    for container in list(&pod["containers"]) {
        for env in list(&container["env"]) {
            if let Some(reference) = env.pointer("/valueFrom/secretKeyRef") {
                wanted.push((
                    text(&reference["name"]).to_owned(),
                    Some(text(&reference["key"]).to_owned()),
                ));
            }
            if !env["value"].is_null() && text(&env["name"]).contains("DATABASE_URL") {
                m.problem(format!(
                    "Deployment {name}: {} is inline; store URLs come from a Secret",
                    text(&env["name"])
                ));
            }
        }
        for from in list(&container["envFrom"]) {
            if let Some(secret) = from["secretRef"]["name"].as_str() {
                wanted.push((secret.to_owned(), None));
            }
        }
    }
    let mut mounted = Vec::new();
    for volume in list(&pod["volumes"]) {
        if let Some(secret) = volume["secret"]["secretName"].as_str() {
            wanted.push((secret.to_owned(), None));
            mounted.push((text(&volume["name"]).to_owned(), secret.to_owned()));
        }
    }
    let guide = std::fs::read_to_string(repository().join("docs/kubernetes.md"))
        .expect("docs/kubernetes.md");
    for (secret, key) in wanted {
        let key_shown = key.as_deref().unwrap_or("any");
        let rendered = m.find("Secret", &secret).map(|s| {
            key.as_ref()
                .is_none_or(|key| !s["data"][key].is_null() || !s["stringData"][key].is_null())
        });
        let by_cert_manager = m
            .all("Certificate")
            .any(|c| c["spec"]["secretName"] == secret.as_str());
        let by_operator = guide.contains(&format!("create secret generic {secret}"))
            && key
                .as_ref()
                .is_none_or(|key| guide.contains(&format!("--from-literal={key}=")));
        match rendered {
            Some(true) => {}
            Some(false) => m.problem(format!(
                "Deployment {name}: Secret {secret} has no key {key_shown}"
            )),
            None if by_cert_manager || by_operator => {}
            None => m.problem(format!(
                "Deployment {name}: Secret {secret} (key {key_shown}) is neither rendered, nor \
                 written by a Certificate, nor made by a command of docs/kubernetes.md"
            )),
        }
    }
    // The TLS files the service reads are the ones the Secret's volume holds.
    for container in list(&pod["containers"]) {
        for (variable, file) in [
            ("BAZAAR_TLS_CERT", "tls.crt"),
            ("BAZAAR_TLS_KEY", "tls.key"),
            ("BAZAAR_TLS_CA", "ca.crt"),
        ] {
            let Some(path) = env_value(container, variable) else {
                continue;
            };
            let from_a_secret = list(&container["volumeMounts"]).iter().any(|mount| {
                mounted
                    .iter()
                    .any(|(volume, _)| mount["name"] == volume.as_str())
                    && path == format!("{}/{file}", text(&mount["mountPath"]))
            });
            if !from_a_secret {
                m.problem(format!(
                    "Deployment {name}: {variable}={path} is not {file} of a mounted Secret"
                ));
            }
        }
    }
}

fn check_service(m: &mut Manifests, spec: &Spec) {
    let name = spec.name;
    let Some(service) = m.find("Service", name).cloned() else {
        m.problem(format!("no Service {name}"));
        return;
    };
    if service["spec"]["clusterIP"] != "None" {
        m.problem(format!(
            "Service {name} is headless (clusterIP: None), so callers see every replica"
        ));
    }
    if service["spec"]["selector"][NAME_LABEL] != name {
        m.problem(format!("Service {name} selects {NAME_LABEL}={name}"));
    }
    let ports: BTreeSet<i64> = list(&service["spec"]["ports"])
        .iter()
        .filter_map(|p| number(&p["port"]))
        .collect();
    let wanted = BTreeSet::from([i64::from(spec.port), i64::from(spec.admin_port)]);
    if ports != wanted {
        m.problem(format!("Service {name}: ports {ports:?}, not {wanted:?}"));
    }
}

/// Who a NetworkPolicy's `from` list lets in: the service of each pod selector in the
/// namespace, and `namespace/name` for a pod selector in another namespace.
fn peers(from: &[Value]) -> BTreeSet<String> {
    from.iter()
        .map(|peer| {
            let pod = text(&peer["podSelector"]["matchLabels"][NAME_LABEL]);
            match peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str() {
                Some(namespace) => format!("{namespace}/{pod}"),
                None if peer["namespaceSelector"].is_null() && peer["ipBlock"].is_null() => {
                    pod.to_owned()
                }
                None => format!("unexpected peer {peer}"),
            }
        })
        .collect()
}

fn check_network_policy(m: &mut Manifests, spec: &Spec) {
    let name = spec.name;
    let Some(policy) = m.find("NetworkPolicy", name).cloned() else {
        m.problem(format!("no NetworkPolicy {name}"));
        return;
    };
    if policy["spec"]["podSelector"]["matchLabels"][NAME_LABEL] != name {
        m.problem(format!("NetworkPolicy {name} selects {NAME_LABEL}={name}"));
    }
    // Who may reach each port: a rule without `from` lets everyone in.
    let mut allowed: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for rule in list(&policy["spec"]["ingress"]) {
        let ports = list(&rule["ports"]);
        if ports.is_empty() {
            m.problem(format!(
                "NetworkPolicy {name}: a rule without ports opens every port"
            ));
        }
        let from = if rule["from"].is_null() {
            BTreeSet::from(["*".to_owned()])
        } else {
            peers(list(&rule["from"]))
        };
        for port in ports {
            let Some(port) = number(&port["port"]) else {
                m.problem(format!("NetworkPolicy {name}: ports by number, not {port}"));
                continue;
            };
            allowed
                .entry(port)
                .or_default()
                .extend(from.iter().cloned());
        }
    }
    let prometheus = "monitoring/prometheus".to_owned();
    let wanted_main = match spec.probe {
        Probe::Grpc => callers_of(name),
        Probe::Http(_) => BTreeSet::from(["*".to_owned()]),
    };
    let wanted_admin = match spec.probe {
        // The storefront's status page scrapes every service's /metrics.
        Probe::Grpc => BTreeSet::from(["gateway".to_owned(), prometheus]),
        Probe::Http(_) => BTreeSet::from([prometheus]),
    };
    let wanted = BTreeMap::from([
        (i64::from(spec.port), wanted_main),
        (i64::from(spec.admin_port), wanted_admin),
    ]);
    if allowed != wanted {
        m.problem(format!(
            "NetworkPolicy {name} lets in {allowed:?}; the table wants {wanted:?}"
        ));
    }
}

fn check_default_deny(m: &mut Manifests) {
    let denies = m.all("NetworkPolicy").any(|policy| {
        policy["spec"]["podSelector"]
            .as_object()
            .is_some_and(serde_json::Map::is_empty)
            && list(&policy["spec"]["policyTypes"]).contains(&Value::from("Ingress"))
            && list(&policy["spec"]["ingress"]).is_empty()
    });
    if !denies {
        m.problem("no NetworkPolicy denies by default every ingress of the namespace".to_owned());
    }
}

fn check_disruption_budget(m: &mut Manifests, spec: &Spec) {
    let name = spec.name;
    let selects = m
        .find("PodDisruptionBudget", name)
        .is_some_and(|pdb| pdb["spec"]["selector"]["matchLabels"][NAME_LABEL] == name);
    if !selects {
        m.problem(format!("no PodDisruptionBudget {name} selecting its pods"));
    }
}

/// Autoscalers scale only services that keep no store (`sql: false`).
fn check_autoscalers(m: &mut Manifests) {
    let scaled: Vec<String> = m
        .all("HorizontalPodAutoscaler")
        .map(|hpa| text(&hpa["spec"]["scaleTargetRef"]["name"]).to_owned())
        .collect();
    for target in scaled {
        match SERVICES.iter().find(|s| s.name == target) {
            Some(spec) if !spec.sql => {}
            _ => m.problem(format!(
                "a HorizontalPodAutoscaler scales {target}, which is not a stateless service"
            )),
        }
    }
}

#[test]
fn the_production_overlay_deploys_the_service_table() {
    let Some(kubectl) = kubectl("the_production_overlay_deploys_the_service_table") else {
        return;
    };
    let mut m = Manifests::of(&kubectl, "production");
    check_services(&mut m);

    // Certificates: one per service, for its Service's names and its identity.
    let namespace = m
        .find("Deployment", "catalog")
        .map(|d| text(&d["metadata"]["namespace"]).to_owned())
        .unwrap_or_default();
    for spec in SERVICES {
        let name = spec.name;
        let Some(deployment) = m.find("Deployment", name).cloned() else {
            continue;
        };
        let secret = list(&deployment["spec"]["template"]["spec"]["volumes"])
            .iter()
            .find_map(|v| v["secret"]["secretName"].as_str())
            .unwrap_or_default()
            .to_owned();
        let Some(certificate) = m
            .all("Certificate")
            .find(|c| c["spec"]["secretName"] == secret.as_str())
            .cloned()
        else {
            m.problem(format!(
                "Deployment {name}: no Certificate writes its TLS Secret"
            ));
            continue;
        };
        let uris = list(&certificate["spec"]["uris"]);
        let identity = chassis::auth::Peer::service_uri(name);
        if uris != [Value::from(identity.as_str())] {
            m.problem(format!(
                "Certificate of {name}: its one URI SAN is {identity}, not {uris:?}"
            ));
        }
        let dns = list(&certificate["spec"]["dnsNames"]);
        for wanted in [
            name.to_owned(),
            format!("{name}.{namespace}.svc.cluster.local"),
        ] {
            if !dns.contains(&Value::from(wanted.as_str())) {
                m.problem(format!("Certificate of {name} does not name {wanted}"));
            }
        }
    }

    // Autoscaling for every stateless service, and only for those.
    let scaled: BTreeSet<String> = m
        .all("HorizontalPodAutoscaler")
        .map(|hpa| text(&hpa["spec"]["scaleTargetRef"]["name"]).to_owned())
        .collect();
    let stateless: BTreeSet<String> = SERVICES
        .iter()
        .filter(|spec| !spec.sql)
        .map(|spec| spec.name.to_owned())
        .collect();
    if scaled != stateless {
        m.problem(format!(
            "autoscalers for {scaled:?}; the stateless services are {stateless:?}"
        ));
    }
    m.assert_none();
}

#[test]
fn the_dev_overlay_deploys_the_service_table_in_plaintext_on_sqlite() {
    let test = "the_dev_overlay_deploys_the_service_table_in_plaintext_on_sqlite";
    let Some(kubectl) = kubectl(test) else {
        return;
    };
    let mut m = Manifests::of(&kubectl, "dev");
    check_services(&mut m);
    let deployments: Vec<Value> = m.all("Deployment").cloned().collect();
    for deployment in deployments {
        let name = text(&deployment["metadata"]["name"]).to_owned();
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        if env_value(container, "BAZAAR_PLAINTEXT") != Some("true") {
            m.problem(format!("Deployment {name}: BAZAAR_PLAINTEXT=true in dev"));
        }
        for env in list(&container["env"]) {
            let variable = text(&env["name"]);
            if variable.starts_with("BAZAAR_TLS_") || variable.ends_with("_DATABASE_URL") {
                m.problem(format!("Deployment {name}: {variable} is set in dev"));
            }
        }
    }
    m.assert_none();
}
