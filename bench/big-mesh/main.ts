// `npm run bench:big-mesh [-- --services N]`: the big-mesh figures of docs/OPERATIONS.md.
import { measureBigMesh } from './measure';
import { parseFlags } from '../../src/flags/flags';

async function main(): Promise<void> {
  const parsed = parseFlags(process.argv.slice(2), [
    { name: 'services', value: 'N', help: 'services in the mesh', default: '50000' },
  ]);
  if (!parsed.ok) throw new Error(parsed.error);
  const services = Number(parsed.flags.get('services'));
  if (!Number.isInteger(services) || services < 1) throw new Error('--services needs a positive whole number');
  const figures = await measureBigMesh({ services, log: (line) => console.log(`[big-mesh] ${line}`) });
  console.log(JSON.stringify(figures, null, 2));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
