// A server entry, as an SSR build bundles one: the README's Node recipe, built
// by webpack for Node (node.test.mjs) and run as
// `node server.cjs <clerk> <fauna> <userId>`. Prints the user's id as Fauna sees it.
import { signIn } from './session.js';
import { whoami } from '../recipes/node.mjs';

const [clerk, fauna, userId] = process.argv.slice(2);
console.log(await whoami(await signIn(clerk, userId), fauna));
