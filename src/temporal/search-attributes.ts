import proto from '@temporalio/proto';
import { JOURNEY_SEARCH_ATTRIBUTES } from '../../workflows/journey-search-attributes.ts';

/**
 * The journeys' search attributes (workflows/journey-search-attributes.ts) must be registered on
 * the namespace before a journey starts: a start or an upsert naming an unknown attribute is
 * refused by the server, and a journey whose workflow task is refused retries it for ever.
 * The servers Onramp runs register them at start; a production namespace is the operator's.
 */

const { temporal } = proto;
type IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
const { IndexedValueType } = temporal.api.enums.v1;

const CLI_TYPE = { KEYWORD: 'Keyword', BOOL: 'Bool' } as const;
const INDEXED_TYPE = { KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL } as const;
type JourneyAttribute = (typeof JOURNEY_SEARCH_ATTRIBUTES)[number];
const cliType = (key: JourneyAttribute) => CLI_TYPE[key.type];
const indexedType = (key: JourneyAttribute) => INDEXED_TYPE[key.type];

/** `temporal server start-dev` arguments that register them on the dev server. */
export function devServerSearchAttributeArgs(): string[] {
  return JOURNEY_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${cliType(key)}`]);
}

/**
 * The operator's commands that register them on a namespace, one per attribute: the CLI (1.9)
 * takes one type per command, and of several `--name`s it registered only the first (dev server).
 */
export function searchAttributeCreateCommands(namespace: string): string[] {
  return JOURNEY_SEARCH_ATTRIBUTES.map((key) => `temporal operator search-attribute create --namespace ${namespace} --name ${key.name} --type ${cliType(key)}`);
}

interface OperatorService {
  addSearchAttributes(request: proto.temporal.api.operatorservice.v1.IAddSearchAttributesRequest): Promise<unknown>;
  listSearchAttributes(request: proto.temporal.api.operatorservice.v1.IListSearchAttributesRequest): Promise<proto.temporal.api.operatorservice.v1.IListSearchAttributesResponse>;
}

/** Registers them (servers Onramp starts itself: the time-skipping test server, the production server of the tests). */
export async function registerSearchAttributes(operator: Pick<OperatorService, 'addSearchAttributes'>, namespace: string): Promise<void> {
  const searchAttributes = Object.fromEntries(JOURNEY_SEARCH_ATTRIBUTES.map((key) => [key.name, indexedType(key)]));
  try {
    await operator.addSearchAttributes({ namespace, searchAttributes });
  } catch (error) {
    if (!/already exists/i.test((error as Error).message)) throw error;
  }
}

/** gRPC UNIMPLEMENTED: the time-skipping test server cannot list them (it checks them all the same). */
const UNIMPLEMENTED = 12;

/**
 * Throws, naming the missing (or mistyped) attributes and the command that creates them, unless
 * the namespace has every one: a worker checks at start rather than leave journeys retrying a
 * refused task. It does not create them itself: registering is a namespace-wide change an operator
 * makes (Temporal Cloud takes it only through its own tools, and SQL visibility has few slots).
 */
export async function assertSearchAttributesRegistered(operator: Pick<OperatorService, 'listSearchAttributes'>, namespace: string): Promise<void> {
  let registered: Record<string, IndexedValueType>;
  try {
    registered = (await operator.listSearchAttributes({ namespace })).customAttributes ?? {};
  } catch (error) {
    if ((error as { code?: number }).code === UNIMPLEMENTED) return;
    throw error;
  }
  const wrong = JOURNEY_SEARCH_ATTRIBUTES.filter((key) => registered[key.name] !== indexedType(key));
  if (wrong.length === 0) return;
  const list = wrong.map((key) => `${key.name} (${cliType(key)}${key.name in registered ? ', registered with another type' : ''})`).join(', ');
  throw new Error(
    `Temporal namespace ${namespace} lacks the journeys' search attributes ${list}: journeys would be refused by the server. ` +
      `Register them once (docs/guides/platform-engineer.md):\n  ${searchAttributeCreateCommands(namespace).join('\n  ')}`,
  );
}
