"""Russian for the Devices page (edge devices of the fleet): kept apart from `ru.py`;
`ru.RU` includes it."""

from __future__ import annotations

RU_DEVICES: dict[str, str | tuple[str, str, str]] = {
    "Devices": "Устройства",
    "Device": "Устройство",  # the edge device an event came from (events, dashboard)
    "No broker is configured: entrances run in this server. Devices can enrol and take their "
    "data over HTTP; set FACEGATE_MQTT_URL to send them changes as they happen.": (
        "Брокер не настроен: входы работают на этом сервере. Устройства могут "
        "зарегистрироваться и получить данные по HTTP; чтобы изменения доходили до них сразу, "
        "задайте FACEGATE_MQTT_URL."
    ),
    "Broker": "Брокер",
    "connected": "подключён",
    "connecting": "подключается",
    "reconnecting": "переподключается",
    "State": "Состояние",
    "Last seen": "На связи",
    "Data version": "Версия данных",
    "Software": "Программа",
    "Events waiting": "Событий в очереди",
    "revoked": "отозвано",
    "not enrolled yet": "ещё не зарегистрировано",
    "online": "в сети",
    "offline": "не в сети",
    "{n} change behind": (
        "отстаёт на {n} изменение",
        "отстаёт на {n} изменения",
        "отстаёт на {n} изменений",
    ),
    "up to date": "актуально",
    "not heard from yet": "ещё не выходило на связь",
    "No devices yet.": "Устройств пока нет.",
    "Add a device": "Добавить устройство",
    "Entrances it runs": "Его входы",
    "Create": "Создать",
    "Enrolment token (shown only now; it works once, for 7 days):": (
        "Токен регистрации (показывается только сейчас; действует один раз, 7 дней):"
    ),
    "Revoke this device? Its doors stop syncing and its events are refused.": (
        "Отозвать устройство? Его двери перестанут получать данные, а его события не будут "
        "приниматься."
    ),
}
