// Golden tests for translation: each case in test/golden/ is a small mesh file and the views to render;
// the rendered CDS/EDS/LDS/RDS of each view must equal its checked-in YAML. UPDATE_GOLDEN=1 rewrites the
// expected files instead (then read the diff before committing it: it is the review of the change).
import * as fs from 'fs';
import * as path from 'path';
import { formatMeshErrors, parseMeshText } from '../../src/discovery/file/mesh-file';
import { MeshModel } from '../../src/mesh/model';
import { translateView } from '../../src/xds/translate/translator';
import { GoldenCase, MESH_FILE, listGoldenCases, staleExpectedFiles, viewFileName } from '../harness/golden-files';
import { renderTranslation } from '../harness/golden-render';
import { firstDifference } from '../harness/text-diff';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const ACCEPT_HINT = 'run UPDATE_GOLDEN=1 npx jest golden to accept';

function modelOf(goldenCase: GoldenCase): MeshModel {
  const parsed = parseMeshText(goldenCase.meshText);
  if (!parsed.ok)
    throw new Error(`invalid mesh:\n${formatMeshErrors(path.join(goldenCase.dir, MESH_FILE), parsed.errors)}`);
  return parsed.model;
}

function checkGolden(file: string, actual: string): void {
  if (UPDATE) {
    fs.writeFileSync(file, actual);
    return;
  }
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist; ${ACCEPT_HINT}`);
  const diff = firstDifference(fs.readFileSync(file, 'utf8'), actual);
  // A thrown message, not expect().toBe(): a file name, a short diff and the fix read better than two YAML dumps.
  if (diff !== undefined)
    throw new Error(`${file} differs from the translation (- expected, + actual):\n${diff}\n${ACCEPT_HINT}`);
}

for (const goldenCase of listGoldenCases()) {
  describe(`golden translation: ${goldenCase.name}`, () => {
    for (const viewKey of goldenCase.views) {
      test(viewKey.id, () => {
        const translation = translateView(modelOf(goldenCase), viewKey);
        checkGolden(path.join(goldenCase.dir, viewFileName(viewKey)), renderTranslation(translation));
      });
    }

    test('has no expected file that no view produces', () => {
      const stale = staleExpectedFiles(goldenCase);
      if (UPDATE) for (const file of stale) fs.unlinkSync(path.join(goldenCase.dir, file));
      else if (stale.length > 0)
        throw new Error(
          `${goldenCase.dir} holds expected files of no listed view: ${stale.join(', ')}; ${ACCEPT_HINT} (it deletes them)`,
        );
    });
  });
}
