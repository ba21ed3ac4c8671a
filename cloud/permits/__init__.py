"""Permits (有限空间作业审批): application, approval chain, pre-entry confirmation, tokens, revocation."""
