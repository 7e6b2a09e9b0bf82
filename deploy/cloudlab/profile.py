"""RamCoin on a Kubernetes cluster of CloudLab machines.

One head node (Kubernetes control plane, Jenkins, the image registry) and N worker nodes on a private LAN
(10.10.1.0/24). Every node installs containerd and Kubernetes v1.31 with kubeadm; the head then deploys RamCoin
(the classic overlay and the in-cluster registry) and Jenkins, with the scripts in deploy/cloudlab.

Instructions:
Setting up takes about 15 minutes after the nodes boot; follow it on the head node with
`tail -f /local/logs/bootstrap-head.log` (the workers log to `/local/logs/bootstrap-worker.log`).
Then:

* RamCoin's web UI: http://{host-head}:30080/ (port 30080 of any node)
* Jenkins: http://{host-head}:30088/ (its first password: `sudo kubectl -n jenkins exec deploy/jenkins -- cat /var/jenkins_home/secrets/initialAdminPassword`)
* The image registry: {host-head}:30000 (every node pulls from 127.0.0.1:30000)
* `kubectl` works on the head node for your user: `kubectl -n ramcoin get pods -o wide`

deploy/kubernetes/README.md in the repository has the lessons (scaling, DaemonSet, rollouts, network policies,
node failure) and the live-update demo through Jenkins.
"""

import geni.portal as portal
import geni.rspec.pg as pg

try:
    from shlex import quote
except ImportError:  # geni-lib on Python 2
    from pipes import quote

HEAD_IP = "10.10.1.1"
NETMASK = "255.255.255.0"

pc = portal.Context()

pc.defineParameter(
    "workerCount", "Number of worker nodes", portal.ParameterType.INTEGER, 2,
    longDescription="Kubernetes worker nodes besides the head node (1 to 16).")
pc.defineParameter(
    "hardwareType", "Hardware type", portal.ParameterType.STRING, "",
    longDescription="A CloudLab hardware type (e.g. m510, c220g5, d430); empty lets the cluster choose.")
pc.defineParameter(
    "osImage", "Disk image", portal.ParameterType.IMAGE,
    "urn:publicid:IDN+emulab.net+image+emulab-ops//UBUNTU22-64-STD",
    longDescription="Ubuntu 22.04: the scripts use apt, systemd and pkgs.k8s.io's Debian packages.")
pc.defineParameter(
    "repoUrl", "RamCoin git repository", portal.ParameterType.STRING,
    "https://github.com/ramcoin/ramcoin.git",
    longDescription="Cloned on every node when this profile is not itself instantiated from that repository; "
                    "Jenkins builds from it too.")
pc.defineParameter(
    "repoBranch", "Branch", portal.ParameterType.STRING, "main")

params = pc.bindParameters()

if params.workerCount < 1 or params.workerCount > 16:
    pc.reportError(portal.ParameterError("Between 1 and 16 worker nodes.", ["workerCount"]))
if not params.repoUrl.strip():
    pc.reportError(portal.ParameterError("A git repository URL is needed.", ["repoUrl"]))
pc.verifyParameters()

request = pc.makeRequestRSpec()

lan = request.LAN("lan")
lan.best_effort = True
lan.vlan_tagging = True
lan.link_multiplexing = True


def bootstrap_command(role):
    """The node's start-up command: find (or clone) the repository, then run deploy/cloudlab/bootstrap.sh."""
    script = (
        'repo=/local/repository; '
        'if [ ! -f "$repo/deploy/cloudlab/bootstrap.sh" ]; then '
        'repo=/local/ramcoin; '
        '[ -d "$repo/.git" ] || sudo git clone --branch {branch} {url} "$repo"; '
        'fi; '
        'sudo bash "$repo/deploy/cloudlab/bootstrap.sh" {role} {head} {workers} {url} {branch}'
    ).format(
        branch=quote(params.repoBranch),
        url=quote(params.repoUrl),
        role=role,
        head=HEAD_IP,
        workers=params.workerCount)
    return "bash -c " + quote(script)


def add_node(name, role, ip):
    node = request.RawPC(name)
    node.disk_image = params.osImage
    if params.hardwareType:
        node.hardware_type = params.hardwareType
    iface = node.addInterface("if1")
    iface.addAddress(pg.IPv4Address(ip, NETMASK))
    lan.addInterface(iface)
    node.addService(pg.Execute(shell="bash", command=bootstrap_command(role)))
    return node


add_node("head", "head", HEAD_IP)
for i in range(1, params.workerCount + 1):
    add_node("worker%d" % i, "worker", "10.10.1.%d" % (i + 1))

tour = pg.Tour()
tour.Description(pg.Tour.MARKDOWN, __doc__.split("\nInstructions:\n")[0].strip())
tour.Instructions(pg.Tour.MARKDOWN, __doc__.split("\nInstructions:\n")[1].strip())
request.addTour(tour)

pc.printRequestRSpec(request)
