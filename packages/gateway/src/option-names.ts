/**
 * Option names in error messages: `propagateIdentity` takes flat options, `createGateway`
 * groups the same ones (`sessions.ttlSeconds` for `sessionTtlSeconds`), and one resolver
 * validates both, naming each option the way its caller wrote it.
 */

/** The options whose name in error messages differs between `propagateIdentity` and `createGateway`. */
export type RenamedOption =
  | 'claims'
  | 'headerPrefix'
  | 'carriers'
  | 'contextforge'
  | 'forwardCredentials'
  | 'apiKeyHeader'
  | 'stripHeaders'
  | 'credentialQueryParams'
  | 'bodyLimit'
  | 'timeoutMs'
  | 'maxHeaderBytes'
  | 'listResponseLimit'
  | 'sessionStore'
  | 'sessionTtlSeconds'
  | 'maxSessionsPerUser';

/** How the options are named to the user (`createGateway` groups them); default: their own names. */
export type OptionNames = Readonly<Partial<Record<RenamedOption, string>>>;

/** The name of an option as the user wrote it. */
export function optionName(names: OptionNames | undefined, option: RenamedOption): string {
  return names?.[option] ?? option;
}
