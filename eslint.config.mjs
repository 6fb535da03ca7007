// ESLint (flat config) with typescript-eslint's type-checked rules; formatting is Prettier's
// (eslint-config-prettier turns off the rules it owns). `npm run lint` runs both.
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/', 'coverage/', 'bench/results/', 'packages/payments-client/src/schema.ts'] },
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      // A leading underscore names what is left out on purpose (`const { owner: _owner, ...rest }`).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Express types the request's route and body as `any` (the body is validated by class-validator at
      // run time); the other unsafe-any rules (arguments, returns) stay on.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // Nest's own extension points are async methods that need not await (ThrottlerGuard.getTracker …).
      '@typescript-eslint/require-await': 'off',
      // Handlers found through Nest's metadata are `Function`s, used as identities (WeakMap keys).
      '@typescript-eslint/no-unsafe-function-type': 'off',
      // Node-style callbacks hand over their error typed `any`.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true }],
      // Style, not correctness; `--fix` can apply it in one commit of its own.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    // Tests read HTTP bodies, which are `any` (supertest), and parsed YAML.
    files: ['test/**/*.ts', 'packages/*/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], extends: [tseslint.configs.disableTypeChecked] },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs' }, rules: { '@typescript-eslint/no-require-imports': 'off' } },
  { files: ['public/**/*.js'], languageOptions: { globals: globals.browser } },
  prettier,
);
