import type { LogLevel } from '../replicator/logger.js'

/**
 * What each command of `quorum-level` takes, as data: the parser checks a command line
 * against it, and the help is printed from it, so the two cannot disagree.
 */

/** A command as typed, its words separated by a space. */
export type CommandName = 'serve' | 'status' | 'members list' | 'members add' | 'members remove' | 'members min-consensus' | 'get' | 'put' | 'del' | 'ls' | 'metrics'

/** An option a command takes: `--name <value>`, or a flag `--name`. */
export interface OptionSpec {
  /** Without its dashes: `value-encoding`. */
  readonly name: string
  /** The placeholder of its value in the help (`file`); absent for a flag, which takes none. */
  readonly value?: string
  /** The only values it accepts (its summary names them). */
  readonly choices?: readonly string[]
  readonly summary: string
}

/** A command: what it takes, and what its help says. */
export interface CommandSpec {
  readonly name: CommandName
  /** Its arguments, in order, all required: `key`, `value`. */
  readonly args: readonly string[]
  /** One line, for the tool's help. */
  readonly summary: string
  /** A paragraph, for the command's own help. */
  readonly description: string
  readonly options: readonly OptionSpec[]
  readonly examples: readonly string[]
}

/** Log levels, least to most severe: `serve --log-level` writes records from the one given. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const satisfies readonly LogLevel[]

/** The encodings a key or value can be given and printed in. */
export const ENCODINGS = ['utf8', 'json', 'hex'] as const
export type Encoding = typeof ENCODINGS[number]

/**
 * How long a client command waits for the host's leader when none answers, by default.
 * Enough for a host to elect a successor to a leader that just died (a few tens of ms), short
 * enough that a command aimed at a directory nobody serves fails promptly; `--wait` changes it
 * (a script that starts `serve` and at once runs a command wants longer).
 */
export const CLIENT_WAIT_MS_DEFAULT = 3_000

/** How a client command finds its host: the options every command but `serve` takes. */
const TARGET: readonly OptionSpec[] = [
  { name: 'config', value: 'file', summary: "the host's configuration file: its \"location\" is used" },
  { name: 'location', value: 'dir', summary: "the host's data directory, instead of --config" },
  { name: 'wait', value: 'ms', summary: `how long to wait for the host's leader to answer (default ${CLIENT_WAIT_MS_DEFAULT})` }
]
const KEY_ENCODING: OptionSpec = { name: 'key-encoding', value: 'name', choices: ENCODINGS, summary: 'how keys are given and printed: utf8 (default), json or hex' }
const VALUE_ENCODING: OptionSpec = { name: 'value-encoding', value: 'name', choices: ENCODINGS, summary: 'how values are given and printed: utf8 (default), json or hex' }
const CONSISTENCY: OptionSpec = { name: 'consistency', value: 'level', choices: ['local', 'strong'], summary: "local (default): this host's replica; strong: linearizable, asks the peers" }
const JSON_OUTPUT: OptionSpec = { name: 'json', summary: 'print it as JSON' }

/** Every command, in the order the tool's help lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'serve',
    args: [],
    summary: 'run this host until SIGINT or SIGTERM: lead it (or join it) and replicate',
    description: "Opens the database at the configuration's location with its options, as a process of that host: the first one leads it (holds the LevelDB lock, replicates with the peers, serves the host's other processes), a later one waits to take over. Log records go to stderr, one a line. On SIGINT or SIGTERM it closes the database and exits 0.",
    options: [
      { name: 'config', value: 'file', summary: "the host's configuration file (required)" },
      { name: 'log-format', value: 'format', choices: ['text', 'json'], summary: 'text (default): readable lines; json: one JSON object a line' },
      { name: 'log-level', value: 'level', choices: LOG_LEVELS, summary: 'the least a record must matter to be written: debug, info (default), warn or error' }
    ],
    examples: ['quorum-level serve --config cluster.json', 'quorum-level serve --config cluster.json --log-format json 2>> host.log']
  },
  {
    name: 'status',
    args: [],
    summary: "the host's replication state: identity, readiness, each peer",
    description: "Prints the host's replication state, as its leader sees it: its identity and address, whether writes can start, and each peer's address, identity, connection, round trip and lag. With --json, the whole status object.",
    options: [...TARGET, JSON_OUTPUT],
    examples: ['quorum-level status --config cluster.json', 'quorum-level status --location ./data --json']
  },
  {
    name: 'members list',
    args: [],
    summary: 'this host and each configured peer: address, identity, connected',
    description: 'Lists the members of the cluster as this host knows them: itself, then each configured peer, with its address, its identity (once it connected) and whether it is connected now.',
    options: [...TARGET, JSON_OUTPUT],
    examples: ['quorum-level members list --config cluster.json']
  },
  {
    name: 'members add',
    args: ['address'],
    summary: 'add a host to the cluster, for every member, durably',
    description: "Adds the host at <address> (host:port, as it announces itself) to the cluster's membership: a change decided by a majority of the members, stored, and in force on every host once applied there. Start the new host first, with its configuration listing every member and itself; it catches up once added. minConsensus stays if it still is a majority, else becomes the smallest one, unless --min-consensus says. Prints the membership now in force.",
    options: [...TARGET, { name: 'min-consensus', value: 'n', summary: 'the minConsensus of the new membership (a majority)' }, JSON_OUTPUT],
    examples: ['quorum-level members add 10.0.0.4:7000 --config cluster.json']
  },
  {
    name: 'members remove',
    args: ['address'],
    summary: 'remove a host from the cluster, for every member, durably',
    description: "Removes the host at <address> (host:port) from the cluster's membership: the others stop counting it, connecting to it and waiting for it, so a host gone for good can be removed though every write needed it. A host cannot remove itself: ask another member. Prints the membership now in force.",
    options: [...TARGET, { name: 'min-consensus', value: 'n', summary: 'the minConsensus of the new membership (a majority)' }, JSON_OUTPUT],
    examples: ['quorum-level members remove 10.0.0.3:7000 --config cluster.json']
  },
  {
    name: 'members min-consensus',
    args: ['n'],
    summary: 'set how many peers must vote for and acknowledge each write',
    description: 'Sets minConsensus to <n> for the whole cluster, as a membership change: it must stay a majority, so that every two quorums meet. Prints the membership now in force.',
    options: [...TARGET, JSON_OUTPUT],
    examples: ['quorum-level members min-consensus 2 --config cluster.json']
  },
  {
    name: 'get',
    args: ['key'],
    summary: 'print the value of a key',
    description: "Prints the value of <key> and a newline. A missing key prints nothing on stdout, says so on stderr, and exits 1. Reads this host's replica unless --consistency strong.",
    options: [...TARGET, KEY_ENCODING, VALUE_ENCODING, CONSISTENCY],
    examples: ['quorum-level get user:1 --config cluster.json', 'quorum-level get user:1 --location ./data --consistency strong --value-encoding json']
  },
  {
    name: 'put',
    args: ['key', 'value'],
    summary: 'write a value; done once the cluster committed it',
    description: 'Writes <value> at <key> through the host, which commits it with its peers: it returns once the write resolved, and fails (exit 1) when the cluster could not commit it.',
    options: [...TARGET, KEY_ENCODING, VALUE_ENCODING],
    examples: ["quorum-level put user:1 '{\"name\":\"Ada\"}' --value-encoding json --config cluster.json"]
  },
  {
    name: 'del',
    args: ['key'],
    summary: 'delete a key; done once the cluster committed it',
    description: 'Deletes <key> through the host, which commits it with its peers. Deleting a missing key succeeds.',
    options: [...TARGET, KEY_ENCODING],
    examples: ['quorum-level del user:1 --config cluster.json']
  },
  {
    name: 'ls',
    args: [],
    summary: 'list keys and values, in key order',
    description: 'Prints one entry a line, the key and the value separated by a tab (use hex for keys or values that may hold tabs or newlines). Bounds are in the key encoding.',
    options: [
      ...TARGET,
      { name: 'gt', value: 'key', summary: 'only keys after this one' },
      { name: 'gte', value: 'key', summary: 'only keys from this one' },
      { name: 'lt', value: 'key', summary: 'only keys before this one' },
      { name: 'lte', value: 'key', summary: 'only keys up to this one' },
      { name: 'limit', value: 'n', summary: 'at most n entries' },
      { name: 'reverse', summary: 'in reverse key order' },
      { name: 'keys-only', summary: 'print keys only' },
      KEY_ENCODING,
      VALUE_ENCODING,
      CONSISTENCY
    ],
    examples: ['quorum-level ls --config cluster.json --gte user: --lt user\\; --limit 10']
  },
  {
    name: 'metrics',
    args: [],
    summary: "the host's metrics in Prometheus' text format",
    description: "Prints the host's replication metrics (readiness, peers, lag, writes, log, feed) in Prometheus' text exposition format, as metricsRegistry() serves them.",
    options: [...TARGET],
    examples: ['quorum-level metrics --config cluster.json']
  }
]

/** Every command's own help option, listed last in its help. */
export const HELP_OPTION: OptionSpec = { name: 'help', summary: 'show this help' }
