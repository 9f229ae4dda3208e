"""Russian: English source string -> translation; plural entries are (1, 2-4, 5+) forms.

Sentences about a person put the name first ("Анна Ли: лицо распознано; дверь открыта"):
a name is inserted as stored, and Russian would otherwise need it declined.
"""

from __future__ import annotations

from facegate.server.i18n.ru_admin import RU_ADMIN
from facegate.server.i18n.ru_enrol import RU_ENROL

_CLOSED = "дверь осталась закрытой"

RU: dict[str, str | tuple[str, str, str]] = {
    **RU_ENROL,  # self-enrolment (its own file)
    **RU_ADMIN,  # entrance form, rules, audit log, users (its own file)
    # header and navigation
    "Main": "Главное меню",
    "Dashboard": "Обзор",
    "Residents": "Жильцы",
    "Entrances": "Входы",
    "Rules & passes": "Правила и пропуска",
    "Events": "События",
    "Users": "Пользователи",
    "Sign out": "Выйти",
    "Sign out of FaceGate in this browser?": "Выйти из FaceGate в этом браузере?",
    "Time zone": "Часовой пояс",
    "Times are shown in this time zone": "Время показано в этом часовом поясе",
    "admin": "администратор",
    "operator": "оператор",
    "viewer": "наблюдатель",
    # events: what happened
    "Recognised {name}; door opened": "{name}: лицо распознано; дверь открыта",
    "Opened by hand by {who} ({why})": "Открыто вручную: {who} ({why})",
    "Unknown visitor": "Неизвестный посетитель",
    "Looked like {name} but not sure enough: door stayed closed": (
        "Возможно, {name}, но уверенности недостаточно; " + _CLOSED
    ),
    "Unknown visitor (looked like more than one resident): door stayed closed": (
        "Неизвестный посетитель (похож на нескольких жильцов); " + _CLOSED
    ),
    "Photo or screen suspected: door stayed closed": (
        "Подозрение на фотографию или экран; " + _CLOSED
    ),
    "Looked like {name}, but no live face was confirmed: door stayed closed": (
        "Возможно, {name}, но живое лицо не подтверждено; " + _CLOSED
    ),
    "Recognised {name}, but their photos need enrolling again: door stayed closed": (
        "{name}: лицо распознано, но фотографии нужно загрузить заново; " + _CLOSED
    ),
    "{name} is not an active resident: door stayed closed": (
        "{name}: не действующий жилец; " + _CLOSED
    ),
    "{name}'s access has not started yet: door stayed closed": (
        "{name}: доступ ещё не начался; " + _CLOSED
    ),
    "{name}'s access has ended: door stayed closed": "{name}: доступ закончился; " + _CLOSED,
    "{name} came outside their hours ({hours}): door stayed closed": (
        "{name}: вне разрешённого времени ({hours}); " + _CLOSED
    ),
    "{name}'s guest pass is used up: door stayed closed": (
        "{name}: гостевой пропуск исчерпан; " + _CLOSED
    ),
    "{name}'s guest pass has expired: door stayed closed": (
        "{name}: срок гостевого пропуска истёк; " + _CLOSED
    ),
    "{name}'s guest pass is not valid yet: door stayed closed": (
        "{name}: гостевой пропуск ещё не действует; " + _CLOSED
    ),
    "{name} may not use this entrance: door stayed closed": (
        "{name}: нет права входить здесь; " + _CLOSED
    ),
    "Recognised {name}, but not let in: door stayed closed": (
        "{name}: лицо распознано, но вход не разрешён; " + _CLOSED
    ),
    "Camera lost ({detail})": "Нет связи с камерой ({detail})",
    "Camera back": "Связь с камерой восстановлена",
    "Door did not open: {error}": "Дверь не открылась: {error}",
    "Door did not open": "Дверь не открылась",
    "Recognised {name}, but the door did not open: {error}": (
        "{name}: лицо распознано, но дверь не открылась: {error}"
    ),
    "Opened by hand by {who} ({why}), but the door did not open: {error}": (
        "Открытие вручную: {who} ({why}), но дверь не открылась: {error}"
    ),
    "someone": "кто-то",
    # event log
    "Event log": "Журнал событий",
    "From": "С",
    "To": "По",
    "Entrance": "Вход",
    "every entrance": "все входы",
    "Person": "Человек",
    "What happened": "Что произошло",
    "anything": "всё",
    "Door opened": "Дверь открыта",
    "Recognised, not let in": "Распознан, но не впущен",
    "Camera lost": "Нет связи с камерой",
    "Door error": "Ошибка двери",
    "Filter": "Показать",
    "Clear": "Сбросить",
    "Download these events as CSV": "Скачать эти события в CSV",
    "Newest events": "Новые события",
    "Older events": "Более ранние события",
    "Dates are written as YYYY-MM-DD.": "Даты записываются как ГГГГ-ММ-ДД.",
    "Time": "Время",
    "Snapshot": "Снимок",
    "Details": "Подробности",
    "Decision": "Решение",
    "Reason": "Причина",
    "Scores": "Оценки",
    "Liveness": "Проверка живого лица",
    "Time to open": "Время до открытия",
    "Open the picture full size": "Открыть снимок в полном размере",
    "Best shot": "Лучший кадр",
    "No events yet.": "Событий пока нет.",
    # dashboard
    "{n} resident": ("{n} жилец", "{n} жильца", "{n} жильцов"),
    "manage": "управление",
    "What the camera at {name} sees now": "Что сейчас видит камера входа {name}",
    "No picture from the camera": "Нет изображения с камеры",
    "Today": "Сегодня",
    "opened": "открыто",
    "refused": "отказано",
    "unknown": "неизвестных",
    "Last visitor": "Последний посетитель",
    "nobody yet": "пока никого",
    "No entrances yet.": "Входов пока нет.",
    "Add one": "Добавить",
    "Last events": "Последние события",
    "All events": "Все события",
    "Watching": "Наблюдает",
    "Camera lost since {time}": "Нет связи с камерой с {time}",
    "Door error since {time}": "Ошибка двери с {time}",
    "Starting": "Запускается",
    "No camera set": "Камера не задана",
    "Switched off": "Выключен",
    "Stopped": "Остановлен",
    "Video ended": "Видео закончилось",
    "Not working": "Не работает",
    # sign-in and messages
    "Sign in": "Войти",
    "Sign in to FaceGate": "Вход в FaceGate",
    "Username": "Имя пользователя",
    "Password": "Пароль",
    "Wrong username or password.": "Неверное имя пользователя или пароль.",
    "Sign-in refused: {why}.": "Вход отклонён: {why}.",
    "Not found": "Не найдено",
    "No resident with id {id}.": "Нет жильца с номером {id}.",
    "No entrance with id {id}.": "Нет входа с номером {id}.",
    "Operators only": "Только для операторов",
    "Only an operator or an admin can add or change entrances.": (
        "Добавлять и изменять входы может только оператор или администратор."
    ),
    "Admins only": "Только для администраторов",
    "Only an admin can manage users and API keys.": (
        "Пользователями и ключами API управляет только администратор."
    ),
    # residents
    "Find by name or apartment": "Поиск по имени или квартире",
    "Search": "Найти",
    "Name": "Имя",
    "Apartment": "Квартира",
    "Photos": "Фотографии",
    "Active": "Действует",
    "Valid": "Срок",
    "yes": "да",
    "no": "нет",
    "Nobody yet.": "Пока никого.",
    "Add a resident": "Добавить жильца",
    "Notes": "Заметки",
    "Add": "Добавить",
    "sharpness": "резкость",
    "Remove": "Удалить",
    "No photo yet: the door cannot recognise {name} until one is enrolled.": (
        "Фотографий пока нет: дверь не узнает {name}, пока не загружена хотя бы одна."
    ),
    "Add a photo (one clear face)": "Добавить фотографию (одно чёткое лицо)",
    "It is {name}: enrol it although it looks like another resident": (
        "Это {name}: загрузить, хотя лицо похоже на другого жильца"
    ),
    "Upload and enrol": "Загрузить",
    "active": "действует",
    "Valid from": "Действует с",
    "Valid until": "Действует до",
    "Save": "Сохранить",
    "Delete resident": "Удалить жильца",
    "Checking the photo…": "Проверяем фотографию…",
    "Warning:": "Внимание:",
    "Enrolled: {file} accepted (sharpness {sharpness}, models {models}).": (
        "Загружено: {file} принята (резкость {sharpness}, модели {models})."
    ),
    "Rejected:": "Отклонено:",
    "Saved.": "Сохранено.",
    "Delete this resident and all their photos?": "Удалить этого жильца и все его фотографии?",
    # entrances
    "Saved; the entrance's runtime restarted with these settings.": (
        "Сохранено; вход перезапущен с этими настройками."
    ),
    "Frames": "Кадров",
    "fps": "кадр/с",
    "door": "дверь",
    "Save and restart": "Сохранить и перезапустить",
    "Restart": "Перезапустить",
    "Reason for opening by hand": "Причина открытия вручную",
    "Open door": "Открыть дверь",
    "Add an entrance": "Добавить вход",
    "Add entrance": "Добавить вход",
    "Opening.": "Открываем.",
    "Already opening.": "Уже открывается.",
    "enabled": "включён",
    "Camera": "Камера",
    "Source (camera index, /dev/video0, rtsp:// URL, or a video file or folder on the "
    "server; empty = none)": (
        "Источник (номер камеры, /dev/video0, адрес rtsp:// или видеофайл либо папка на "
        "сервере; пусто — нет)"
    ),
    "Pace of files": "Скорость воспроизведения файлов",
    "realtime": "в реальном времени",
    "simulated": "как с камеры (с пропуском кадров)",
    "fast": "каждый кадр, без ожидания",
    "Door": "Дверь",
    "Door adapter": "Способ управления дверью",
    "Adapter settings (JSON)": "Настройки (JSON)",
    "e.g.": "например:",
    'all take "pulse_s".': 'везде можно задать "pulse_s".',
    "Thresholds": "Пороги",
    "Target false-match rate": "Целевая доля ложных совпадений",
    "Agreeing shots to open": "Совпавших кадров для открытия",
    "confirm with the second recogniser (dlib)": "подтверждать второй моделью распознавания",
    "It confirms by": "Как подтверждать",
    "fusion: both recognisers' calibrated fused score": (
        "слияние: общая откалиброванная оценка обеих моделей"
    ),
    "model: the second recogniser alone": "модель: только вторая модель распознавания",
    "False-match rate of the fused score": "Доля ложных совпадений общей оценки",
    "False-match rate of the second recogniser alone": (
        "Доля ложных совпадений только второй модели"
    ),
    "Liveness (photo and screen attacks)": "Проверка живого лица (атаки фото и экраном)",
    "Checks": "Проверки",
    "default: motion, plus passive with a model": (
        "по умолчанию: движение, плюс пассивная проверка при наличии модели"
    ),
    "off: photos and screens are not detected": "выключено: фото и экраны не распознаются",
    "Passive PAD model (ONNX file or folder on the server; empty = none)": (
        "Модель пассивной проверки (файл ONNX или папка на сервере; пусто — нет)"
    ),
    "When the checks cannot decide yet": "Если проверки ещё не решили",
    "wait": "ждать",
    "allow": "пропустить",
    "challenge": "попросить моргнуть или повернуть голову",
    # rules and passes
    "Access rules and guest passes": "Правила доступа и гостевые пропуска",
    "With no active rule every resident may open every entrance; once a rule exists, only "
    "rules grant access.": (
        "Пока нет ни одного действующего правила, любой жилец может открыть любой вход; "
        "как только правило появится, доступ дают только правила."
    ),
    "Kind": "Вид",
    "Who": "Кто",
    "Where": "Где",
    "Hours": "Часы",
    "Uses": "Использований",
    "rule": "правило",
    "guest pass": "гостевой пропуск",
    "everyone": "все",
    "all": "все",
    "always": "всегда",
    "Delete": "Удалить",
    "No rules.": "Правил нет.",
    "Add a rule or guest pass": "Добавить правило или гостевой пропуск",
    "Resident ids, comma separated (empty = everyone)": (
        "Номера жильцов через запятую (пусто — все)"
    ),
    "Entrance ids (empty = all)": "Номера входов (пусто — все)",
    "Days": "Дни",
    "From (time)": "С (время)",
    "To (time)": "До (время)",
    "Max uses (a guest pass)": "Сколько раз можно использовать (гостевой пропуск)",
    # users
    "User": "Пользователь",
    "Role": "Роль",
    "Add a user": "Добавить пользователя",
    "Password (8+ characters)": "Пароль (не короче 8 символов)",
    "API keys": "Ключи API",
    "Prefix": "Начало",
    "Revoke": "Отозвать",
    "Key name": "Название ключа",
    "Create key": "Создать ключ",
    "Key (shown once):": "Ключ (показывается один раз):",
    "Audit log": "Журнал изменений",
    "What": "Что",
    "Object": "Объект",
    "Detail": "Подробности",
}

# the residents' pages, the bulk import and the photo checks keep their strings together
from facegate.server.i18n.ru_residents import RU_RESIDENTS  # noqa: E402

RU.update(RU_RESIDENTS)

# the Devices page (edge devices of the fleet)
from facegate.server.i18n.ru_devices import RU_DEVICES  # noqa: E402

RU.update({k: v for k, v in RU_DEVICES.items() if k not in RU})
