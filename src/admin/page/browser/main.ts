// The live page's script, bundled by esbuild into one file that page.ts inlines (npm run build:page).
// Each part starts on its own: one that throws (say, its markup missing) leaves the others running.
import { messageOf } from './dom';
import { startLiveTables } from './live-tables';
import { startScopePanel } from './scope-panel';
import { startWhatIfPanel } from './what-if-panel';

for (const start of [startLiveTables, startWhatIfPanel, startScopePanel]) {
  try {
    start();
  } catch (error) {
    console.error(`${start.name}: ${messageOf(error)}`);
  }
}
