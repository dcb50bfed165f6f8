# NixOps4 provider module for Proxmox VE virtual machines; its resource types are generated from
# the Python models.
{ packagesFor }:
import ./mk-provider.nix { inherit packagesFor; } {
  name = "proxmox";
  title = "Proxmox VE";
  description = ''
    Proxmox VE virtual machines, cloned from a template or created with a disk imported from a
    NixOS image, configured through the PVE API; their addresses and SSH host key are outputs
    for a NixOS deployment.
  '';
}
