import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CLI_FILE, RUNTIME_FILES } from '../../scripts/build.ts';
import { JOURNEY_SEARCH_ATTRIBUTES } from '../../workflows/journey-search-attributes.ts';

// No Docker engine runs where the tests do, so `docker compose config` cannot check the file:
// the Compose Specification's own JSON Schema (see test/fixtures/README.md) stands in for it.
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const composeSpec = JSON.parse(read('test/fixtures/compose-spec.json'));
const draft07 = createRequire(import.meta.url)('ajv/dist/refs/json-schema-draft-07.json');

// The spec's schema names draft-07 by its https address, which Ajv only knows by the http one;
// and it uses union types that Ajv's strict mode (a lint for schema authors) refuses.
const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addMetaSchema({ ...draft07, $id: composeSpec.$schema });
const validateCompose = ajv.compile(composeSpec);

// Compose resolves YAML merge keys (<<), which YAML 1.2 parsers leave off by default.
const parseCompose = (text: string) => parse(text, { merge: true });

type Service = {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  healthcheck?: { test: string[] };
};

function schemaErrors(compose: unknown): string[] {
  if (validateCompose(compose)) return [];
  return (validateCompose.errors ?? []).map(({ instancePath, message, params }) =>
    'additionalProperty' in params ? `${instancePath}: unknown key ${params.additionalProperty}` : `${instancePath} ${message}`,
  );
}

describe('docker-compose.yml', () => {
  const text = read('docker-compose.yml');
  const compose = parseCompose(text);
  const services: Record<string, Service> = compose.services;

  it('is valid under the Compose Specification', () => {
    expect(schemaErrors(compose)).toEqual([]);
  });

  it('would fail validation with a misspelt key', () => {
    const typo = parseCompose(text.replace('healthcheck:', 'helthcheck:'));
    expect(schemaErrors(typo)).toContain('/services/postgresql: unknown key helthcheck');
  });

  it('runs PostgreSQL, Temporal on it, the Temporal UI, and Onramp as an API and a worker', () => {
    expect(Object.keys(services).sort()).toEqual(['onramp-api', 'onramp-worker', 'postgresql', 'temporal', 'temporal-search-attributes', 'temporal-ui']);
    expect(services.postgresql!.image).toMatch(/^postgres:16/);
    expect(services.postgresql!.healthcheck).toBeDefined();

    const temporal = services.temporal!;
    expect(temporal.image).toMatch(/^temporalio\/(auto-setup|server):/);
    expect(temporal.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
    expect(temporal.depends_on).toEqual({ postgresql: { condition: 'service_healthy' } });

    const ui = services['temporal-ui']!;
    expect(ui.image).toMatch(/^temporalio\/ui:/);
    expect(ui.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(ui.ports).toContain('8080:8080');
  });

  it('builds one image for the API and the worker, told apart by their command', () => {
    const api = services['onramp-api']!;
    const worker = services['onramp-worker']!;
    expect(api.build).toBe('.');
    expect(worker.build).toEqual(api.build);
    expect(worker.image).toEqual(api.image);
    expect(api.command).toEqual(['api']);
    expect(worker.command).toEqual(['worker']);
  });

  it("registers every journey search attribute on Temporal's namespace, each with its type", () => {
    const register = services['temporal-search-attributes']!;
    expect(register.depends_on).toEqual({ temporal: { condition: 'service_healthy' } });
    const script = register.command!.join('\n');
    for (const key of JOURNEY_SEARCH_ATTRIBUTES) expect(script).toContain(`${key.name}=${key.type === 'BOOL' ? 'Bool' : 'Keyword'}`);
    expect(script).toContain('temporal operator search-attribute create --address temporal:7233 --namespace default');
  });

  it('starts Onramp once PostgreSQL and Temporal are healthy and the search attributes registered, wired through its environment', () => {
    for (const name of ['onramp-api', 'onramp-worker']) {
      const service = services[name]!;
      expect(service.depends_on, name).toEqual({
        postgresql: { condition: 'service_healthy' },
        'temporal-search-attributes': { condition: 'service_completed_successfully' },
      });
      expect(service.environment?.DATABASE_URL, name).toMatch(/^postgresql:\/\/.+@postgresql:5432\/onramp$/);
      expect(service.environment?.TEMPORAL_ADDRESS, name).toBe('temporal:7233');
      expect(service.environment?.ONRAMP_INGEST_KEY, name).toMatch(/^\$\{ONRAMP_INGEST_KEY[:?}]/);
      expect(service.environment?.ONRAMP_DATA_DIR, name).toBeTruthy();
    }
    const api = services['onramp-api']!;
    expect(api.environment?.PORT).toBe(3000);
    expect(api.ports).toContain('3000:3000');
    expect(api.healthcheck?.test.join(' ')).toContain('http://127.0.0.1:3000/healthz');
    // The worker's health is its metrics port's /healthz (the Temporal worker RUNNING).
    const worker = services['onramp-worker']!;
    expect(worker.environment?.ONRAMP_WORKER_METRICS_PORT).toBe(9464);
    expect(worker.healthcheck?.test.join(' ')).toContain('http://127.0.0.1:9464/healthz');
  });

  const stages = read('Dockerfile').split(/^FROM /m);
  const finalStage = stages.at(-1)!;

  it('builds from a Dockerfile whose image runs the compiled CLI with plain node, as a non-root user', () => {
    expect(finalStage).toMatch(/^node:20-bookworm-slim/);
    expect(finalStage).toMatch(/^USER (node|1000)(:|$)/m);
    expect(stages.at(-2)).toMatch(/^RUN npm run build$/m);
    expect(finalStage).toContain(`ENTRYPOINT ["node", "--enable-source-maps", "/app/dist/${CLI_FILE}"]`);
    expect(finalStage).toContain('CMD ["api"]');
    expect(finalStage).not.toMatch(/\b(tsx|npx)\b/);
  });

  it("copies into the image only the build's output, the production packages and the files the compiled CLI reads", () => {
    const copied = [...finalStage.matchAll(/^COPY --from=build \/app\/(\S+) \.\/(\S*)$/gm)].map(([, from, to]) => [from, to || from]);
    expect(copied.map(([from]) => from).sort()).toEqual([...RUNTIME_FILES, 'dist', 'node_modules'].sort());
    for (const [from, to] of copied) expect(to, from).toBe(from);
  });
});
