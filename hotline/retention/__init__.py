"""Personal data kept only as long as its period (个人信息保护)."""
