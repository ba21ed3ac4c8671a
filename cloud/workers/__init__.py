"""Workers (作业人员) and attendants: registered per enterprise with their phone's key and qualifications."""
