"""A believable sample account, generated deterministically: for the demo, tests and benchmarks.

The dataset has a group tree, a policy tree, computers with a week of events, alerts and
system events, three contacts whose clearances differ (one sees everything, one only the web
servers, one everything but events not about computers) and two smart folders.
"""

from __future__ import annotations

import copy
import random
from datetime import datetime, timedelta
from typing import Any

from service.directory.dataset import Dataset
from service.reports.model import EventModule

#: Group tree of the sample: (ID, name, parent ID).
GROUPS = [
    (1, "Datacenter Tokyo", None),
    (2, "Web Servers", 1),
    (3, "Frontend", 2),
    (4, "Databases", 1),
    (5, "Office Berlin", None),
    (6, "Laptops", 5),
]
POLICIES = [
    (1, "Base Policy", None),
    (2, "Linux Server", 1),
    (3, "Web Server", 2),
    (4, "Windows Workstation", 1),
]
PLATFORMS = {2: "Ubuntu 24.04", 3: "Ubuntu 24.04", 4: "Red Hat Enterprise Linux 9", 6: "Windows 11"}
POLICY_OF_GROUP = {2: 3, 3: 3, 4: 2, 6: 4}
RULES = {
    EventModule.anti_malware: ["Eicar_test_file", "TROJ_GEN.R002C0", "Ransom.Win32.LOCKBIT"],
    EventModule.web_reputation: ["http://malicious.example/", "http://phish.example/login"],
    EventModule.firewall: ["Out Of Allowed Policy", "Invalid Flags", "Dropped Retransmit"],
    EventModule.intrusion_prevention: [
        "1011242 - Log4j Remote Code Execution",
        "1000128 - HTTP Protocol Decoding",
    ],
    EventModule.integrity_monitoring: ["/etc/passwd modified", "HKLM Run key changed"],
    EventModule.log_inspection: ["SSH brute force", "sudo authentication failure"],
    EventModule.application_control: ["Unrecognized software /tmp/miner"],
}
#: Saved computer queries of the sample: PCI machines of the Tokyo datacenter, and agents that
#: need a look.
SMART_FOLDERS = [
    {
        "ID": 1,
        "name": "PCI in Tokyo",
        "description": "Computers tagged pci in the Tokyo datacenter",
        "criteria": {"tags": ["pci"], "computerGroupID": 1, "includeSubgroups": True},
    },
    {
        "ID": 2,
        "name": "Agents needing attention",
        "description": "Agents offline or warning",
        "criteria": {"agentStatuses": ["offline", "warning"]},
    },
]
ACTIONS = ["detected", "blocked", "quarantined", "logged"]
SEVERITIES = ["low", "medium", "high", "critical"]


def sample_dataset(
    *, now: datetime, computers_per_group: int = 6, events_per_day: int = 40, seed: int = 7
) -> dict[str, Any]:
    """The sample account as a dataset dict (the import format), ending at ``now``."""
    rng = random.Random(seed)
    start = now - timedelta(days=7)
    computers: list[dict[str, Any]] = []
    for group_id, platform in PLATFORMS.items():
        group = next(name for gid, name, _ in GROUPS if gid == group_id)
        stem = group.lower().split()[0][:4]
        for n in range(1, computers_per_group + 1):
            computers.append(
                {
                    "ID": len(computers) + 1,
                    "hostName": f"{stem}-{n:02d}.example.internal",
                    "displayName": f"{stem}-{n:02d}",
                    "platform": platform,
                    "groupID": group_id,
                    "policyID": POLICY_OF_GROUP[group_id],
                    "agentStatus": rng.choice(["active"] * 8 + ["offline", "warning"]),
                    "lastAgentCommunication": _ms(now - timedelta(minutes=rng.randint(1, 600))),
                    "tags": ["pci"] if group_id in (3, 4) else [],
                    "modules": sorted(rng.sample([m.value for m in EventModule], k=4)),
                }
            )
    events = []
    for _ in range(events_per_day * 7):
        module = rng.choice(list(EventModule))
        events.append(
            {
                "computerID": rng.randint(1, len(computers)),
                "module": module.value,
                "time": _ms(start + timedelta(seconds=rng.randint(0, 7 * 86400 - 1))),
                "severity": rng.choice(SEVERITIES),
                "name": rng.choice(RULES[module]),
                "action": rng.choice(ACTIONS),
                "details": f"rule matched on port {rng.choice([22, 80, 443, 3389])}",
            }
        )
    alerts = [
        {
            "computerID": rng.choice([None, rng.randint(1, len(computers))]),
            "timeRaised": _ms(start + timedelta(hours=rng.randint(0, 167))),
            "severity": rng.choice(["warning", "critical"]),
            "name": rng.choice(["Agent offline", "Reconnaissance detected", "License expiring"]),
            "description": "raised by the sample generator",
        }
        for _ in range(12)
    ]
    system_events = [
        {
            "computerID": None,
            "time": _ms(start + timedelta(hours=rng.randint(0, 167))),
            "eventID": code,
            "level": level,
            "name": name,
            "actionPerformedBy": actor,
        }
        for code, level, name, actor in [
            (600, "info", "User Signed In", "admin@example.com"),
            (602, "warning", "User Locked Out", "System"),
            (1900, "info", "Firewall Rule Created", "admin@example.com"),
            (2100, "info", "IP List Deleted", "ops@example.com"),
        ]
    ] + [
        {
            "computerID": cid,
            "time": _ms(start + timedelta(hours=rng.randint(0, 167))),
            "eventID": 730,
            "level": "warning",
            "name": "Offline",
            "actionPerformedBy": "System",
        }
        for cid in rng.sample(range(1, len(computers) + 1), k=min(5, len(computers)))
    ]
    return {
        "format": "reportd-dataset/1",
        "computerGroups": [{"ID": i, "name": n, "parentGroupID": p} for i, n, p in GROUPS],
        "policies": [{"ID": i, "name": n, "parentID": p} for i, n, p in POLICIES],
        "computers": computers,
        "events": events,
        "alerts": alerts,
        "systemEvents": system_events,
        "roles": [
            {"ID": 1, "name": "Full Access"},
            {
                "ID": 2,
                "name": "Web Team",
                "description": "The web servers (and their sub-groups) only",
                "allComputers": False,
                "computerGroupIDs": [2],
                "allPolicies": False,
                "policyIDs": [3],
                "rights": {
                    "platformRights": {
                        "computerRights": {
                            "canViewOtherComputers": False,
                            "canViewNotRelatedToComputers": False,
                        },
                        "policyRights": {"canViewOtherPolicies": False},
                    }
                },
            },
            {
                "ID": 3,
                "name": "Auditor (computers only)",
                "description": "Every computer, no events unrelated to computers",
                "rights": {
                    "platformRights": {"computerRights": {"canViewNotRelatedToComputers": False}}
                },
            },
        ],
        "smartFolders": copy.deepcopy(SMART_FOLDERS),
        "contacts": [
            {
                "name": "Alex Morgan",
                "emailAddress": "alex.morgan@example.com",
                "roleID": 1,
                "locale": "en-US",
                "timeZone": "Europe/London",
            },
            {
                "name": "佐藤 花子",
                "emailAddress": "hanako.sato@example.jp",
                "roleID": 2,
                "locale": "ja-JP",
                "timeZone": "Asia/Tokyo",
            },
            {
                "name": "Jonas Weber",
                "emailAddress": "jonas.weber@example.de",
                "roleID": 3,
                "locale": "de-DE",
                "timeZone": "Europe/Berlin",
                "reportPDFPasswordEnabled": True,
                "reportPDFPassword": "weber-2026",
            },
        ],
    }


def sample(now: datetime, **kwargs: Any) -> Dataset:
    """The sample account as a validated :class:`Dataset`."""
    return Dataset.model_validate(sample_dataset(now=now, **kwargs))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
