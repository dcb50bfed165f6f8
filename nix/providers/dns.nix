# NixOps4 provider module for DNS; its resource types are generated from the Python models.
{ packagesFor }:
import ./mk-provider.nix { inherit packagesFor; } {
  name = "dns";
  title = "DNS (RFC 2136)";
  description = ''
    DNS record sets on an authoritative server (Knot, BIND, PowerDNS, ...), written with RFC 2136
    dynamic updates signed with TSIG.
  '';
}
