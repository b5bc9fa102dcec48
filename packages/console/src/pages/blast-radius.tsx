import type { CaBlastRadius, CaCrlUploadResult } from '../api';
import { useSession } from '../session';
import { useResource } from '../ui';

/** "Cuts N devices: a, b, c …": who a CA certificate's disable or delete would refuse (DESIGN §8). */
export function blastRadiusSentence(radius: CaBlastRadius): string {
  if (radius.deviceCount === 0) return 'No device has connected with a certificate under it recently.';
  const names = radius.devices.list.map((d) => d.name).join(', ');
  const more = radius.deviceCount > radius.devices.list.length ? `, and ${radius.deviceCount - radius.devices.list.length} more` : '';
  return `This cuts ${radius.deviceCount} device${radius.deviceCount === 1 ? '' : 's'} whose latest certificate chains to it: ${names}${more}.`;
}

/** "This CRL cuts N devices: a, b …": whom a CRL upload newly refuses (its dry run's answer). */
export function crlCutsSentence(result: CaCrlUploadResult): string {
  const { cuts } = result;
  if (cuts.certificateCount === 0) return 'It newly lists no certificate a device has connected with.';
  const verb = result.dryRun ? 'would cut' : 'cuts';
  if (cuts.deviceCount === 0) return `It ${verb} ${cuts.certificateCount} known certificate${cuts.certificateCount === 1 ? '' : 's'}, held by no device.`;
  const names = cuts.devices.map((d) => d.name).join(', ');
  const more = cuts.deviceCount > cuts.devices.length ? `, and ${cuts.deviceCount - cuts.devices.length} more` : '';
  return `It ${verb} ${cuts.deviceCount} device${cuts.deviceCount === 1 ? '' : 's'} whose certificate it newly lists: ${names}${more}.`;
}

/** The blast radius of a CA certificate, loaded when shown (in a confirmation dialog). */
export function BlastRadiusNote({ slug, caId }: { slug: string; caId: string }) {
  const { api } = useSession();
  const radius = useResource(() => api.caBlastRadius(slug, caId), [api, slug, caId]);
  if (!radius.data) return null;
  return (
    <p className={radius.data.deviceCount > 1 ? 'alert alert-warning' : 'muted'} role="status">
      {blastRadiusSentence(radius.data)}
    </p>
  );
}
