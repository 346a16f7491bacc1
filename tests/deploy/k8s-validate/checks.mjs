// checks.mjs — what the kvnode manifests must say, checked on the rendered
// stream (stdin): node checks.mjs KVNODE_OPTIONS_FILE. One line per failed
// check; exit 1 if any.
import fs from "node:fs";
import YAML from "yaml";

const options = new Set(fs.readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean));
const objs = YAML.parseAllDocuments(fs.readFileSync(0, "utf8")).map((d) => d.toJS()).filter(Boolean);
const bad = [];
const check = (ok, what) => { if (!ok) bad.push(what); };
const find = (kind, name) => objs.find((o) => o.kind === kind && (!name || o.metadata?.name === name));

const sts = find("StatefulSet");
check(sts, "a StatefulSet");
if (!sts) { console.error(bad.join("\n")); process.exit(1); }
const spec = sts.spec, pod = spec.template.spec, c = pod.containers[0];
const labels = spec.selector.matchLabels;
const selects = (sel) => sel && Object.entries(sel).every(([k, v]) => spec.template.metadata.labels[k] === v);

check(spec.replicas === 3, "three replicas");
check(spec.podManagementPolicy === "Parallel", "pods start in parallel (a cluster restart never waits on one pod)");
const headless = find("Service", spec.serviceName);
check(headless && headless.spec.clusterIP === "None", "serviceName is a headless Service");
check(headless?.spec.publishNotReadyAddresses === true, "the headless Service publishes pods before they are ready");
check(selects(headless?.spec.selector), "the headless Service selects the pods");
const client = objs.find((o) => o.kind === "Service" && o.spec.clusterIP !== "None");
check(client && selects(client.spec.selector), "a client Service selecting the pods");
check(client?.spec.ports.some((p) => p.port === 7379), "the client Service has the client port");

const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
check(/^\$\(POD_NAME\)\.kvnode-headless\.\$\(POD_NAMESPACE\)\.svc\./.test(env.KVNODE_ANNOUNCE_IP?.value ?? ""),
      "each pod announces its stable name under the headless Service");
check((env.KVNODE_SEED?.value ?? "").startsWith("kvnode-0.kvnode-headless."), "kvnode-0 is the seed");
const peers = (env.KVNODE_PEERS?.value ?? "").split(/\s+/).filter(Boolean);
check(peers.length === spec.replicas && peers.every((p, i) => p.startsWith(`kvnode-${i}.kvnode-headless.`) && p.endsWith(":7379")),
      "KVNODE_PEERS names every pod");
const secret = find("Secret");
for (const [v, key] of [["KVNODE_REQUIREPASS_FILE", "requirepass"], ["KVNODE_CLUSTER_SECRET_FILE", "cluster-secret"]]) {
  const mount = c.volumeMounts.find((m) => (env[v]?.value ?? "").startsWith(m.mountPath + "/"));
  const vol = mount && pod.volumes.find((x) => x.name === mount.name);
  check(vol?.secret?.secretName === secret?.metadata.name && key in (secret?.stringData ?? secret?.data ?? {}),
        `${v} is the Secret's ${key}, mounted`);
}
const cm = find("ConfigMap");
check(c.envFrom?.some((e) => e.configMapRef?.name === cm?.metadata.name), "the ConfigMap feeds the environment");
for (const k of Object.keys(cm?.data ?? {}))
  check(k.startsWith("KVNODE_"), `ConfigMap key ${k} is a KVNODE_ setting`);
for (const a of c.args ?? []) {
  const m = /^\$\((\w+)\)$/.exec(a);
  if (m) check(m[1] in (cm?.data ?? {}) || m[1] in env, `args use $(${m[1]}), which is defined`);
  else if (a.startsWith("--")) check(options.has(a), `args pass ${a}, which kvnode knows`);
}
check(c.startupProbe?.exec?.command?.join(" ") === "/usr/local/bin/kvnode-probe.sh live", "startup probe: live");
check(c.readinessProbe?.exec?.command?.join(" ") === "/usr/local/bin/kvnode-probe.sh ready", "readiness probe: ready");
check(c.livenessProbe?.exec?.command?.join(" ") === "/usr/local/bin/kvnode-probe.sh live", "liveness probe: live");
const term = pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0];
check(term?.topologyKey === "kubernetes.io/hostname" && selects(term?.labelSelector?.matchLabels),
      "required anti-affinity: one pod per machine");
check(pod.terminationGracePeriodSeconds >= 20, "grace period well above the leader's 5 s hand-over");
check(pod.securityContext?.runAsNonRoot === true && pod.securityContext?.runAsUser === 10001, "runs as the image's kvnode user");
check(c.securityContext?.readOnlyRootFilesystem === true, "read-only root file system");
check(c.volumeMounts.some((m) => m.mountPath === "/run/kvnode"), "/run/kvnode is writable (the generated config)");
const data = spec.volumeClaimTemplates?.find((t) => c.volumeMounts.some((m) => m.name === t.metadata.name && m.mountPath === "/data"));
check(data && data.spec.accessModes.includes("ReadWriteOnce"), "a PVC per pod mounted at /data");
const pdb = find("PodDisruptionBudget");
check(pdb && pdb.spec.maxUnavailable === 1 && Object.entries(pdb.spec.selector.matchLabels).every(([k, v]) => labels[k] === v),
      "a PodDisruptionBudget keeps two of three voters");
const ports = Object.fromEntries(c.ports.map((p) => [p.name, p.containerPort]));
check(ports.client === 7379 && ports.peer === 17379, "client and peer ports (peer = client + 10000)");
check(String(ports.metrics) === cm?.data?.KVNODE_METRICS_PORT, "the metrics port is KVNODE_METRICS_PORT");

if (bad.length) {
  for (const b of bad) console.error(`FAIL: ${b}`);
  process.exit(1);
}
console.log(`manifests: ${objs.length} objects, every check holds`);
