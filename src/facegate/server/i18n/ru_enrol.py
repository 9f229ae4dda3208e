"""Russian for self-enrolment (the resident's page and the manager's approval list): kept
apart from `ru.py` so the catalogue of the other pages stays short; `ru.RU` includes it."""

from __future__ import annotations

_NEW = "Попросите у управляющего новую."

RU_ENROL: dict[str, str | tuple[str, str, str]] = {
    # the resident's page
    "Enrol your face": "Запись лица",
    "Enrol your face, {name}": "{name}: запись лица",
    "Take three photos with your phone's camera: look straight, then turn your head a little "
    "to the left, then a little to the right. Hints below the picture say when a photo would "
    "be good.": (
        "Сделайте три снимка камерой телефона: прямо, затем немного повернув голову влево, "
        "затем немного вправо. Подсказки под изображением скажут, когда снимок получится."
    ),
    "Looking straight": "Прямо",
    "Turned left": "Поворот влево",
    "Turned right": "Поворот вправо",
    "This enrolment link is not known. Check that the whole link was copied, or ask the "
    "building manager for a new one.": (
        "Эта ссылка для записи неизвестна. Проверьте, что она скопирована целиком, или "
        "попросите у управляющего новую."
    ),
    "This enrolment link has expired. Ask the building manager for a new one.": (
        "Срок действия ссылки истёк. " + _NEW
    ),
    "The photos of this link were sent already. Thank you!": (
        "Фотографии по этой ссылке уже отправлены. Спасибо!"
    ),
    "This enrolment link was withdrawn. Ask the building manager for a new one.": (
        "Эта ссылка отозвана. " + _NEW
    ),
    "Too many tries: wait a minute and try again.": (
        "Слишком много попыток: подождите минуту и попробуйте снова."
    ),
    "Photo {n} of {total}:": "Фото {n} из {total}:",
    "look straight at the camera.": "смотрите прямо в камеру.",
    "turn your head a little to your left.": "немного поверните голову влево.",
    "turn your head a little to your right.": "немного поверните голову вправо.",
    "Photo taken: {pose}": "Снимок сделан: {pose}",
    "All three photos are taken: check them and send them.": (
        "Все три снимка сделаны: проверьте их и отправьте."
    ),
    "Checking the picture…": "Проверяем изображение…",
    "Good: take the photo now.": "Хорошо: можно снимать.",
    "No face found: look at the camera.": "Лицо не найдено: посмотрите в камеру.",
    "One face only, please: nobody else in the picture.": (
        "Нужно одно лицо: в кадре не должно быть других людей."
    ),
    "Come closer to the camera.": "Подойдите ближе к камере.",
    "Too dark: turn towards a light.": "Слишком темно: повернитесь к свету.",
    "Too bright: move out of direct light.": "Слишком светло: отойдите от прямого света.",
    "Blurred: hold the phone still.": "Нерезко: держите телефон неподвижно.",
    "Turned too far: turn back a little.": "Слишком сильный поворот: повернитесь чуть обратно.",
    "The camera picture could not be read.": "Не удалось прочитать изображение с камеры.",
    "Now turn your head a little to your left.": "Теперь немного поверните голову влево.",
    "Now turn your head a little to your right.": "Теперь немного поверните голову вправо.",
    "Look straight at the camera.": "Смотрите прямо в камеру.",
    "Sending the photos…": "Отправляем фотографии…",
    "Thank you! Your photos were sent; the building manager will check them.": (
        "Спасибо! Фотографии отправлены; управляющий их проверит."
    ),
    "Thank you! You are enrolled: the door will recognise you from now on.": (
        "Спасибо! Вы записаны: теперь дверь будет вас узнавать."
    ),
    "Please take the photo “{pose}” again:": "Пожалуйста, переснимите фото «{pose}»:",
    "The browser allows the camera only on a secure (https://) page. Ask the building "
    "manager for an https link.": (
        "Браузер разрешает камеру только на защищённой странице (https://). Попросите у "
        "управляющего ссылку с https."
    ),
    "This browser cannot use a camera.": "Этот браузер не может использовать камеру.",
    "The camera could not be opened: allow camera access for this page and reload it.": (
        "Не удалось включить камеру: разрешите доступ к камере для этой страницы и обновите её."
    ),
    "The server is busy: try again in a moment.": "Сервер занят: попробуйте чуть позже.",
    "The photos could not be sent: check the connection and try again.": (
        "Не удалось отправить фотографии: проверьте связь и попробуйте снова."
    ),
    "Something went wrong: {why}": "Что-то пошло не так: {why}",
    "The photos go only to your building's door system. This link works once, until {time} "
    "({zone}).": (
        "Фотографии попадут только в систему двери вашего дома. Ссылка действует один раз, "
        "до {time} ({zone})."
    ),
    "Good photos are enrolled at once.": "Хорошие фотографии записываются сразу.",
    "The building manager checks them before the door uses them.": (
        "Управляющий проверит их, прежде чем дверь начнёт их использовать."
    ),
    "Starting the camera…": "Включаем камеру…",
    "Take the photo": "Сделать снимок",
    "Take again": "Переснять",
    "Send the photos": "Отправить фотографии",
    # the manager's side
    "Self-enrolment": "Самостоятельная запись",
    "Residents enrol themselves with a link from their resident page; their photos wait here "
    "until you approve them.": (
        "Жильцы записываются сами по ссылке со страницы жильца; их фотографии ждут здесь "
        "вашего одобрения."
    ),
    "Send {name} a link: they take three photos with their phone's camera. The link works "
    "once, for {hours} hours.": (
        "{name}: отправьте ссылку, и жилец сделает три снимка камерой телефона. Ссылка "
        "действует один раз, {hours} ч."
    ),
    "Create an enrolment link": "Создать ссылку для записи",
    "Copy": "Копировать",
    "Open links": "Действующие ссылки",
    "works until {time}": "действует до {time}",
    "created by {who}": "создал(а) {who}",
    "Withdraw": "Отозвать",
    "Photos waiting for approval": "Фотографии ждут одобрения",
    "Photo sent by {name}: {pose}": "Фото от {name}: {pose}",
    "Looks like another resident.": "Похоже на другого жильца.",
    "Does not look like the other photos.": "Не похоже на остальные фотографии.",
    "Not checked against the other residents.": "Не сверено с другими жильцами.",
    "It is {name}: enrol it anyway": "Это {name}: всё равно записать",
    "Approve": "Одобрить",
    "Reject": "Отклонить",
    "No photo is waiting.": "Нет фотографий, ждущих одобрения.",
    "Send this link to the resident (it is shown only now):": (
        "Отправьте эту ссылку жильцу (она показывается только сейчас):"
    ),
    "Copied.": "Скопировано.",
    "Enrolled.": "Записано.",
    "Rejected: the photo was deleted.": "Отклонено: фотография удалена.",
    "This face looks like another resident's. Tick the box to enrol it anyway.": (
        "Это лицо похоже на другого жильца. Отметьте флажок, чтобы всё равно записать."
    ),
    "The link no longer works.": "Ссылка больше не действует.",
    "{n} photo sent by a resident waits for approval": (
        "{n} фотография от жильцов ждёт одобрения",
        "{n} фотографии от жильцов ждут одобрения",
        "{n} фотографий от жильцов ждут одобрения",
    ),
}
