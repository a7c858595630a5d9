"""A plan's terms and a company's kit: the plan file, the form kit, vesting schedules, Section
16 deadlines, and a batch's manifest."""
