/**
 * The demo's people and clients. Passwords and keys are for the demo only; a real
 * deployment looks them up in its user store, and compares them in constant time.
 */

/** A Basic-auth user of the demo. */
export interface DemoUser {
  readonly username: string;
  readonly password: string;
  readonly email: string;
  readonly name: string;
  readonly groups: readonly string[];
  readonly roles: readonly string[];
}

/** An API-key client of the demo. */
export interface DemoApiClient {
  readonly id: string;
  readonly key: string;
  readonly name: string;
  readonly roles: readonly string[];
}

/** Basic users: alice is in `admins`, bob is not. */
export const demoUsers: readonly DemoUser[] = [
  {
    username: 'alice',
    password: 'alice-demo-password',
    email: 'alice@example.com',
    name: 'Alice Liddell',
    groups: ['admins', 'eng'],
    roles: ['operator'],
  },
  { username: 'bob', password: 'bob-demo-password', email: 'bob@example.com', name: 'Bob', groups: ['eng'], roles: ['reader'] },
];

/** The JWT user: a non-ASCII name and a group whose name contains a comma. */
export const demoJwtClaims = {
  sub: 'jose',
  email: 'jose@example.com',
  name: 'José Núñez',
  groups: ['eng,ops', 'équipe-🚀'],
  roles: ['reader'],
} as const;
