import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { parseAllDocuments, parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { healthRoute, type HealthRouteOptions } from '../../src/api/routes/health-route.ts';
import { buildProgram } from '../../src/cli/program.ts';
import { serveProcessMetrics } from '../../src/metrics/serve-process-metrics.ts';
import { JOURNEY_SEARCH_ATTRIBUTES } from '../../workflows/journey-search-attributes.ts';

/**
 * deploy/kubernetes, checked without a cluster: every object against the strict JSON Schemas of named
 * Kubernetes versions (an unknown field is an error, as under kubectl's strict field validation), and
 * its wiring against the code: the commands, probes, ports and variables the processes really have.
 */

const ROOT = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');
const DIR = 'deploy/kubernetes/';

/** The oldest and the newest Kubernetes minor the manifests are meant for (docs/scaling.md). */
const KUBERNETES_VERSIONS = ['1.33.0', '1.37.0'];
// Carried by the PyPI package kubernetes-validate (node scripts/setup.mjs --test installs it).
const SCHEMAS = new URL('.tools/kubernetes-validate/kubernetes_validate/kubernetes-json-schema/', ROOT);
const hasPip = () => spawnSync('python3', ['-m', 'pip', '--version'], { stdio: 'ignore' }).status === 0;
const schemasSkipReason = existsSync(SCHEMAS) || hasPip() ? undefined : 'the Kubernetes JSON Schemas come from PyPI (kubernetes-validate): needs Python 3 with pip';

type Probe = { httpGet?: { path: string; port: string }; tcpSocket?: { port: string } };
type Container = {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: ({ configMapRef: { name: string } } | { secretRef: { name: string } })[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
};
type PodSpec = {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
};
type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> } & Record<string, string>;
    template?: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    scaleTargetRef?: { kind: string; name: string };
  };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  file: string;
};

const manifestFiles = readdirSync(new URL(DIR, ROOT))
  .filter((name) => name.endsWith('.yaml') && name !== 'kustomization.yaml')
  .sort();
const parseManifests = (text: string) => parseAllDocuments(text).map((document) => document.toJS() as Omit<K8sObject, 'file'>);
const objects: K8sObject[] = manifestFiles.flatMap((file) => parseManifests(read(DIR + file)).map((object) => ({ ...object, file })));
const find = (kind: string, name: string) => {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) throw new Error(`no ${kind} ${name} in ${DIR}`);
  return object;
};
const podSpec = (kind: string, name: string) => find(kind, name).spec!.template!.spec;
const pods = objects.filter((o) => o.spec?.template);
const onrampContainers = pods.flatMap((o) => o.spec!.template!.spec.containers.filter((c) => c.image === 'onramp').map((c) => ({ ...c, owner: `${o.kind}/${o.metadata.name}` })));

/** A strict validator per kind, from one version's schemas; resolves the kinds' shared definitions. */
function kubernetesSchemas(version: string): (object: object) => string[] {
  const dir = new URL(`v${version}-local-strict/`, SCHEMAS);
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
  // The kinds' schemas refer to /api/_definitions.json against their own https://kubernetes.io/api/… ids.
  ajv.addSchema({ ...JSON.parse(readFileSync(new URL('_definitions.json', dir), 'utf8')), $id: 'https://kubernetes.io/api/_definitions.json' });
  const validators = new Map<string, ValidateFunction>();
  return (object) => {
    const { apiVersion, kind } = object as K8sObject;
    const [group, groupVersion] = apiVersion.includes('/') ? apiVersion.split('/') : [undefined, apiVersion];
    const file = [kind.toLowerCase(), group?.split('.')[0], groupVersion].filter(Boolean).join('-') + '.json';
    if (!existsSync(new URL(file, dir))) return [`no schema for ${apiVersion} ${kind} in Kubernetes ${version}`];
    if (!validators.has(file)) validators.set(file, ajv.compile(JSON.parse(readFileSync(new URL(file, dir), 'utf8'))));
    const validate = validators.get(file)!;
    if (validate(object)) return [];
    return (validate.errors ?? []).map(({ instancePath, message, params }) =>
      'additionalProperty' in params ? `${instancePath}: unknown field ${params.additionalProperty}` : `${instancePath} ${message}`,
    );
  };
}

describe.skipIf(schemasSkipReason !== undefined)('deploy/kubernetes under the Kubernetes JSON Schemas', () => {
  const errorsOf = (validate: (object: object) => string[], list: object[]) =>
    list.flatMap((object) => validate(object).map((error) => `${(object as K8sObject).kind}/${(object as K8sObject).metadata.name}${error}`));

  it.each(KUBERNETES_VERSIONS)('every object is valid under Kubernetes %s (strict: no unknown field)', (version) => {
    expect(existsSync(SCHEMAS), `${SCHEMAS.pathname} is missing: run node scripts/setup.mjs --test`).toBe(true);
    const validate = kubernetesSchemas(version);
    expect(objects.length).toBeGreaterThanOrEqual(10);
    expect(
      errorsOf(
        validate,
        objects.map(({ file: _file, ...object }) => object),
      ),
    ).toEqual([]);
  });

  it('fails on a misspelt field, a missing required field and a wrong type', () => {
    const validate = kubernetesSchemas(KUBERNETES_VERSIONS[0]!);
    const api = read(`${DIR}api.yaml`);
    expect(errorsOf(validate, parseManifests(api.replace('readinessProbe:', 'readinesProbe:')))).toEqual([
      'Deployment/onramp-api/spec/template/spec/containers/0: unknown field readinesProbe',
    ]);
    const withoutTarget = parseManifests(api);
    delete (withoutTarget.find((o) => o.kind === 'HorizontalPodAutoscaler')!.spec!.scaleTargetRef as { name?: string }).name;
    expect(errorsOf(validate, withoutTarget)).toEqual(["HorizontalPodAutoscaler/onramp-api/spec/scaleTargetRef must have required property 'name'"]);
    expect(errorsOf(validate, parseManifests(api.replace('containerPort: 3000', "containerPort: '3000'")))).toEqual([
      'Deployment/onramp-api/spec/template/spec/containers/0/ports/0/containerPort must be integer',
    ]);
  });

  // CI machines may lack kubectl; what it renders is what `kubectl apply -k` sends.
  const kubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!kubectl)('renders with `kubectl kustomize` into the same objects, each valid, the part-of label added', () => {
    const rendered = spawnSync('kubectl', ['kustomize', new URL(DIR, ROOT).pathname], { encoding: 'utf8' });
    expect(rendered.status, rendered.stderr).toBe(0);
    const list = parseManifests(rendered.stdout);
    expect(list.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      objects
        .filter((o) => o.file !== 'secret.example.yaml')
        .map((o) => `${o.kind}/${o.metadata.name}`)
        .sort(),
    );
    for (const object of list) expect(object.metadata.labels?.['app.kubernetes.io/part-of'], object.metadata.name).toBe('onramp');
    expect(errorsOf(kubernetesSchemas(KUBERNETES_VERSIONS.at(-1)!), list)).toEqual([]);
  });
});

describe('deploy/kubernetes wiring', () => {
  it('the kustomization applies every manifest but the Secret example', () => {
    const kustomization = parse(read(`${DIR}kustomization.yaml`)) as { resources: string[] };
    expect([...kustomization.resources].sort()).toEqual(manifestFiles.filter((file) => file !== 'secret.example.yaml'));
    expect(objects.filter((o) => o.file === 'secret.example.yaml').map((o) => o.kind)).toEqual(['Secret']);
  });

  it('runs an api Deployment with a Service, an HPA and a PDB, a worker Deployment, a migrations Job and the search attributes Job', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ConfigMap/onramp-config',
        'Deployment/onramp-api',
        'Deployment/onramp-worker',
        'HorizontalPodAutoscaler/onramp-api',
        'Job/onramp-migrate',
        'Job/onramp-temporal-search-attributes',
        'PodDisruptionBudget/onramp-api',
        'PodDisruptionBudget/onramp-worker',
        'Secret/onramp-secrets',
        'Service/onramp-api',
        'Service/onramp-worker-metrics',
      ].sort(),
    );
    const hpa = find('HorizontalPodAutoscaler', 'onramp-api');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec!.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'onramp-api' });
    // A count in the Deployment would reset the autoscaler's at every apply.
    expect(find('Deployment', 'onramp-api').spec!.replicas).toBeUndefined();
  });

  it('the Services and disruption budgets select the pods they are for', () => {
    for (const [kind, name, deployment] of [
      ['Service', 'onramp-api', 'onramp-api'],
      ['PodDisruptionBudget', 'onramp-api', 'onramp-api'],
      ['Service', 'onramp-worker-metrics', 'onramp-worker'],
      ['PodDisruptionBudget', 'onramp-worker', 'onramp-worker'],
    ] as const) {
      const selector = find(kind, name).spec!.selector!;
      const labels = find('Deployment', deployment).spec!.template!.metadata.labels;
      expect(labels, `${kind}/${name}`).toMatchObject(selector.matchLabels ?? selector);
    }
    // Each Deployment's selector picks its own pods only.
    expect(find('Deployment', 'onramp-api').spec!.selector!.matchLabels).not.toEqual(find('Deployment', 'onramp-worker').spec!.selector!.matchLabels);
  });

  it("runs the image's CLI as node itself (PID 1 gets SIGTERM), with commands that exist", () => {
    const commands = buildProgram().commands.map((command) => command.name());
    expect(onrampContainers.map((c) => `${c.owner}: ${c.args?.join(' ')}`).sort()).toEqual([
      'Deployment/onramp-api: api',
      'Deployment/onramp-worker: worker',
      'Job/onramp-migrate: migrate',
    ]);
    for (const container of onrampContainers) {
      expect(container.command, container.owner).toBeUndefined();
      expect(commands, container.owner).toContain(container.args![0]);
    }
    // The image's entrypoint, in exec form (no shell, no npm between): node is PID 1.
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(
      read('Dockerfile')
        .split(/^FROM /m)
        .at(-1)!,
    )?.[1];
    expect(JSON.parse(entrypoint ?? '[]')[0]).toBe('node');
  });

  it('runs every pod as the image user, non-root, without privilege escalation, with resources', () => {
    const imageUser = /^USER (\d+):/m.exec(
      read('Dockerfile')
        .split(/^FROM /m)
        .at(-1)!,
    )![1];
    expect(imageUser).toBe('1000');
    for (const pod of pods) {
      const spec = pod.spec!.template!.spec;
      expect(spec.securityContext, pod.metadata.name).toMatchObject({ runAsNonRoot: true, runAsUser: Number(imageUser) });
      for (const container of spec.containers) {
        expect(container.securityContext, container.name).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        expect(Object.keys(container.resources?.requests ?? {}).sort(), container.name).toEqual(['cpu', 'memory']);
        expect(container.resources?.limits?.memory, container.name).toBeDefined();
      }
    }
  });

  describe('probes on what the processes serve', () => {
    const portOf = (container: Container, name: string) => container.ports!.find((port) => port.name === name)!.containerPort;
    const envOf = (container: Container, name: string) => container.env?.find((variable) => variable.name === name)?.value;

    it('the api listens on PORT, the port its probes and Service use; readiness on GET /healthz', async () => {
      const api = podSpec('Deployment', 'onramp-api').containers[0]!;
      expect(portOf(api, 'http')).toBe(Number(envOf(api, 'PORT')));
      expect(api.readinessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(api.livenessProbe?.tcpSocket?.port).toBe('http');
      expect(api.startupProbe?.tcpSocket?.port).toBe('http');
      expect(find('Service', 'onramp-api')).toMatchObject({ spec: { ports: [{ targetPort: 'http' }] } });

      // The route the probe calls, as the API registers it (its dependencies are only called per request).
      const app = Fastify();
      app.setValidatorCompiler(validatorCompiler);
      app.setSerializerCompiler(serializerCompiler);
      await app.register(healthRoute, {} as HealthRouteOptions);
      await app.ready();
      expect(app.hasRoute({ method: 'GET', url: api.readinessProbe!.httpGet!.path })).toBe(true);
      await app.close();
    });

    const metricsServers: { stop(): Promise<void> }[] = [];
    afterAll(() => Promise.all(metricsServers.map((server) => server.stop())));

    it("the worker's probes call /healthz on ONRAMP_WORKER_METRICS_PORT, which answers 200 while it runs and 503 otherwise", async () => {
      const worker = podSpec('Deployment', 'onramp-worker').containers[0]!;
      const port = Number(envOf(worker, 'ONRAMP_WORKER_METRICS_PORT'));
      expect(port).toBe(9464);
      expect(portOf(worker, 'metrics')).toBe(port);
      for (const probe of [worker.startupProbe, worker.readinessProbe, worker.livenessProbe]) expect(probe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });

      // The worker's server itself, on a free port of this machine.
      let state = 'RUNNING';
      const free = createServer().listen(0, '127.0.0.1');
      await once(free, 'listening');
      const { port: freePort } = free.address() as AddressInfo;
      free.close();
      metricsServers.push(await serveProcessMetrics('127.0.0.1', freePort, () => state));
      const health = () => fetch(`http://127.0.0.1:${freePort}${worker.livenessProbe!.httpGet!.path}`);
      expect((await health()).status).toBe(200);
      state = 'FAILED';
      const failed = await health();
      expect([failed.status, await failed.json()]).toEqual([503, { status: 'unavailable', worker: 'FAILED' }]);
    });
  });

  it('gives the worker time to finish its longest activity before it is killed', () => {
    // The activities' start-to-close timeouts, as the journey workflow declares them.
    const timeouts = [...read('workflows/onboarding-journey.ts').matchAll(/startToCloseTimeout: '(\d+) (seconds|minutes)'/g)].map(
      ([, amount, unit]) => Number(amount) * (unit === 'minutes' ? 60 : 1),
    );
    expect(timeouts.length).toBeGreaterThan(0);
    expect(podSpec('Deployment', 'onramp-worker').terminationGracePeriodSeconds).toBeGreaterThanOrEqual(Math.max(...timeouts));
  });

  it('sets only documented variables, takes the secret ones from the Secret, and commits no secret value', () => {
    const documented = new Set([...read('docs/reference/configuration.md').matchAll(/^\| `([A-Z0-9_]+)`/gm)].map(([, name]) => name));
    const config = find('ConfigMap', 'onramp-config').data!;
    const secret = find('Secret', 'onramp-secrets').stringData!;
    const explicit = onrampContainers.flatMap((c) => (c.env ?? []).map((variable) => variable.name));
    for (const name of [...Object.keys(config), ...Object.keys(secret), ...explicit]) expect(documented, name).toContain(name);

    // What `onramp api` requires, and no value anyone could deploy by mistake.
    expect(Object.keys(secret)).toEqual(expect.arrayContaining(['DATABASE_URL', 'ONRAMP_INGEST_KEY', 'ONRAMP_ADMIN_KEY', 'ONRAMP_SIGNING_SECRET']));
    expect(Object.values(secret).filter((value) => value !== '')).toEqual([]);
    expect(config.TEMPORAL_ADDRESS).toMatch(/^[a-z0-9.-]+:7233$/);
    for (const name of ['onramp-api', 'onramp-worker']) {
      expect(podSpec('Deployment', name).containers[0]!.envFrom, name).toEqual([{ configMapRef: { name: 'onramp-config' } }, { secretRef: { name: 'onramp-secrets' } }]);
    }
    // The migrations need the database only.
    expect(podSpec('Job', 'onramp-migrate').containers[0]!.env).toEqual([{ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'onramp-secrets', key: 'DATABASE_URL' } } }]);
  });

  it("registers every journey search attribute with its type, with docker-compose.yml's image, on the configured namespace", () => {
    const job = podSpec('Job', 'onramp-temporal-search-attributes').containers[0]!;
    const compose = parse(read('docker-compose.yml')) as { services: Record<string, { image: string }> };
    expect(job.image).toBe(compose.services['temporal-search-attributes']!.image);
    const script = job.args!.join('\n');
    for (const key of JOURNEY_SEARCH_ATTRIBUTES) expect(script).toContain(`${key.name}=${key.type === 'BOOL' ? 'Bool' : 'Keyword'}`);
    expect(script).toContain('temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE"');
    expect(job.envFrom).toEqual([{ configMapRef: { name: 'onramp-config' } }]);
  });
});
