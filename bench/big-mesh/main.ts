// `npm run bench:big-mesh [-- --services N]`: the big-mesh figures of docs/OPERATIONS.md.
import { measureBigMesh } from './measure';

async function main(): Promise<void> {
  const index = process.argv.indexOf('--services');
  const services = index > 0 ? Number(process.argv[index + 1]) : 50_000;
  const figures = await measureBigMesh({ services, log: (line) => console.log(`[big-mesh] ${line}`) });
  console.log(JSON.stringify(figures, null, 2));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
