"""Technology contracts (技术合同): drafting, signatures, 认定登记 and registered amendments; deal rooms; brokers.

Lifecycle (``specs.CONTRACT_LIFECYCLE``): draft → awaiting_signatures → signed → submitted → registered or
rejected → performing → completed; a registered termination amendment ends it as terminated; a contract never
registered can be cancelled. Every edit is a new version and signatures name one version.
"""
